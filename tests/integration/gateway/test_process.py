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


def gateway_environment(infra: Infra, port: int, **extra: str) -> dict[str, str]:
    """``python -m gateway``'s environment on ``port``, with user_svc and template_svc unreachable."""
    return {
        **os.environ,
        "NOTIFICATIONS_DATABASE_URL": infra.database("NOTIFICATIONS_DATABASE_URL"),
        "GATEWAY_PORT": str(port),
        "USER_SERVICE_URL": "127.0.0.1:1",
        "TEMPLATE_SERVICE_URL": "127.0.0.1:1",
        **extra,
    }


async def test_python_m_gateway_serves_and_stops_on_sigterm(infra: Infra) -> None:
    port = free_port()
    env = gateway_environment(infra, port)
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


async def test_every_process_of_a_multi_process_gateway_answers_metrics_for_all(infra: Infra) -> None:
    port = free_port()
    env = gateway_environment(infra, port, GATEWAY_WORKERS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                async with httpx.AsyncClient(base_url=url) as client:
                    await client.get("/health")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the gateway did not start")
        await asyncio.sleep(1)  # both processes are up by now
        for _ in range(40):  # a new connection each: the kernel hands them to either process
            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/ready")).status_code == 503
        scraped = set()
        for _ in range(8):
            async with httpx.AsyncClient(base_url=url) as client:
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
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
