"""`python -m gateway` serves over uvicorn and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from devstack.infra import Infra
from devstack.stack import free_port


@dataclass
class GatewayProcess:
    """A running ``python -m gateway`` and its base URL."""

    process: asyncio.subprocess.Process
    url: str


@asynccontextmanager
async def gateway_process(infra: Infra, **environment: str) -> AsyncIterator[GatewayProcess]:
    """``python -m gateway`` on a free port (user_svc and template_svc unreachable; stderr piped), yielded once
    it answers ``/health``; stopped by SIGTERM afterwards if it still runs (SIGKILL would orphan the processes
    of a multi-process gateway), killed if that does not end it."""
    port = free_port()
    env = {
        **os.environ,
        "NOTIFICATIONS_DATABASE_URL": infra.database("NOTIFICATIONS_DATABASE_URL"),
        "GATEWAY_PORT": str(port),
        "USER_SERVICE_URL": "127.0.0.1:1",
        "TEMPLATE_SERVICE_URL": "127.0.0.1:1",
        **environment,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    running = GatewayProcess(process, f"http://127.0.0.1:{port}")
    try:
        await _serving(running.url)
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _serving(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(150):
            try:
                await client.get("/health")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not start")


async def test_python_m_gateway_serves_and_stops_on_sigterm(infra: Infra) -> None:
    async with gateway_process(infra) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            health = await client.get("/health", headers={"X-Request-ID": "proc-1"})
            assert health.status_code == 200
            assert health.headers["x-request-id"] == "proc-1"
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["user_svc"] == "down"
        process = gateway.process
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert await asyncio.wait_for(process.wait(), 15) in (0, -signal.SIGTERM)
        _, stderr = await process.communicate()
        assert "Application shutdown complete" in stderr.decode()
        access = [line for line in stderr.decode().splitlines() if '"gateway.access"' in line]
        assert any('"route": "/health"' in line and '"status": 200' in line for line in access), stderr.decode()


async def test_every_process_of_a_multi_process_gateway_answers_metrics_for_all(infra: Infra) -> None:
    async with gateway_process(infra, GATEWAY_WORKERS="2") as gateway:
        await asyncio.sleep(1)  # both processes are up by now
        for _ in range(40):  # a new connection each: the kernel hands them to either process
            async with httpx.AsyncClient(base_url=gateway.url) as client:
                assert (await client.get("/ready")).status_code == 503
        scraped = set()
        for _ in range(8):
            async with httpx.AsyncClient(base_url=gateway.url) as client:
                text = (await client.get("/metrics")).text
            counts = [
                line
                for line in text.splitlines()
                if line.startswith("gateway_http_request_duration_seconds_count") and 'route="/ready"' in line
            ]
            scraped.add(tuple(counts))
        assert scraped == {
            ('gateway_http_request_duration_seconds_count{method="GET",route="/ready",status="503"} 40.0',)
        }
