"""``python -m email_worker`` as a real subprocess against the in-process SMTP sink."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.stack import free_port
from tests.integration.delivery.support import FAST_RETRIES
from tests.support.smtp_sink import RunningSmtpSink

TEST_KEY = "test-email-operator-key"


@dataclass
class WorkerProcess:
    """A running worker process and a client for its HTTP side."""

    process: asyncio.subprocess.Process
    http: httpx.AsyncClient
    log: Path

    async def stop(self, signum: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``signum`` and wait for the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), timeout)


@asynccontextmanager
async def worker_process(sink: RunningSmtpSink, log: Path, **environment: str) -> AsyncIterator[WorkerProcess]:
    """Start the worker (ready: /ready answers 200), yield it, and make sure it is gone afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.smtp_port),
        "EMAIL_WORKER_PORT": str(port),
        "EMAIL_WORKER_RETRY_DELAY_SCALE": str(FAST_RETRIES),
        "EMAIL_WORKER_TEST_KEY": TEST_KEY,
        **environment,
    }
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "email_worker", env=env, stdout=output, stderr=output
        )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        worker = WorkerProcess(process, http, log)
        try:
            await _wait_ready(worker)
            yield worker
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _wait_ready(worker: WorkerProcess, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if worker.process.returncode is not None:
            raise AssertionError(f"the worker exited with {worker.process.returncode}:\n{worker.log.read_text()}")
        try:
            if (await worker.http.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the worker was not ready within {timeout}s:\n{worker.log.read_text()}")
        await asyncio.sleep(0.1)
