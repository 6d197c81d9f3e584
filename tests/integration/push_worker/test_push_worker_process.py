"""``python -m push_worker`` as a real process: its HTTP side, a push through it, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from devstack.stack import free_port
from tests.integration.delivery.support import FAST_RETRIES
from tests.integration.push_worker.helpers import PushGateway, Users, new_token, push_envelope
from tests.support.fcm_server import RunningFcmServer
from tests.support.user_service import INTERNAL_KEY, RunningUserService


def output_of(log: Path) -> str:
    return log.read_text()


async def wait_ready(process: asyncio.subprocess.Process, http: httpx.AsyncClient, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        if process.returncode is not None:
            raise AssertionError(f"the worker exited with {process.returncode}:\n{output_of(log)}")
        try:
            if (await http.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the worker was not ready within 20s:\n{output_of(log)}")
        await asyncio.sleep(0.1)


async def test_the_push_worker_process_serves_delivers_and_drains_on_sigterm(
    gateway: PushGateway,
    fcm: RunningFcmServer,
    user_service: RunningUserService,
    users: Users,
    tmp_path: Path,
) -> None:
    dead, live = new_token("unregistered"), new_token()
    user_id = await users.create([dead, live])
    port = free_port()
    environment = {
        **os.environ,
        "GOOGLE_APPLICATION_CREDENTIALS": str(fcm.credentials_path),
        "FCM_ENDPOINT": fcm.url,
        "USER_SERVICE_URL": user_service.target,
        "USER_SERVICE_INTERNAL_API_KEY": INTERNAL_KEY,
        "PUSH_WORKER_PORT": str(port),
        "PUSH_WORKER_RETRY_DELAY_SCALE": str(FAST_RETRIES),
    }
    log = tmp_path / "push_worker.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "push_worker", env=environment, stdout=output, stderr=output
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_ready(process, http, log)
            assert (await http.get("/health")).json() == {"status": "ok"}
            assert (await http.get("/ready")).json()["checks"] == {"broker": True, "database": True}

            envelope = await gateway.send(push_envelope(user_id, [dead, live]))
            row = await gateway.wait_for_status(envelope.notification_id, "delivered")

            metrics = (await http.get("/metrics")).text
        assert row["provider_message_id"] == fcm.messages(token=live)[0]["name"]
        assert await users.device_tokens(user_id) == [live]
        assert 'push_device_sends_total{result="dead"} 1.0' in metrics
        assert 'push_dead_devices_total{removal="removed"} 1.0' in metrics
        assert 'notification_circuit_breaker_state{channel="push"} 0.0' in metrics

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
