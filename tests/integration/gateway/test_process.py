"""`python -m gateway` serves over uvicorn and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx

from tests.support.infra import Infra


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_python_m_gateway_serves_and_stops_on_sigterm(infra: Infra) -> None:
    port = free_port()
    env = {
        **os.environ,
        "NOTIFICATIONS_DATABASE_URL": infra.database("NOTIFICATIONS_DATABASE_URL"),
        "GATEWAY_PORT": str(port),
        "USER_SERVICE_URL": "127.0.0.1:1",
        "TEMPLATE_SERVICE_URL": "127.0.0.1:1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    health = await client.get("/health", headers={"X-Request-ID": "proc-1"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the gateway did not start")
            assert health.status_code == 200
            assert health.headers["x-request-id"] == "proc-1"
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["user_svc"] == "down"
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert await asyncio.wait_for(process.wait(), 15) in (0, -signal.SIGTERM)
        _, stderr = await process.communicate()
        assert "Application shutdown complete" in stderr.decode()
        access = [line for line in stderr.decode().splitlines() if '"gateway.access"' in line]
        assert any('"route": "/health"' in line and '"status": 200' in line for line in access), stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
