"""The process: ``python -m webhook_worker`` serves /health, /ready and /metrics on its port, sends, and exits 0
on SIGTERM after writing the outcomes of what it sent."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg
import httpx

from devstack.stack import free_port
from tests.integration.webhook_worker.support import add_endpoint, add_event, eventually, final
from tests.support.webhook_receiver import WebhookReceiver


async def test_serves_its_side_port_and_stops_cleanly_on_sigterm(pool: asyncpg.Pool, receiver: WebhookReceiver) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/ok/process"))
    port = free_port()
    environment = {
        **os.environ,
        "WEBHOOK_WORKER_PORT": str(port),
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WEBHOOK_WORKER_POLL_SECONDS": "0.05",
        "WEBHOOK_WORKER_METRICS_SECONDS": "0.1",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "webhook_worker", env=environment)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/ready")).json() == {"status": "ready", "checks": {"database": True}}
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=20)
            assert (await client.get("/health")).json() == {"status": "ok"}
            await add_event(pool)
            [delivery] = await final(pool, endpoint["id"])
            metrics = (await client.get("/metrics")).text
        assert delivery["status"] == "succeeded"
        assert 'webhook_deliveries_total{outcome="succeeded"} 1.0' in metrics
        for name in ("webhook_deliveries_due", "webhook_outbox_depth", "webhook_attempt_latency_seconds_bucket"):
            assert name in metrics
        assert 'webhook_endpoint_breakers{state="closed"} 1.0' in metrics
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
