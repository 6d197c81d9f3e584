"""Running the gateway under uvicorn (uvloop, httptools), one or ``GATEWAY_WORKERS`` processes."""

from __future__ import annotations

import asyncio

import aio_pika
import asyncpg
import uvicorn

from common.db import plain_url
from common.metrics import metrics_shared_by_child_processes
from common.waiting import wait_for, where
from gateway.app import create_app
from gateway.settings import GatewaySettings


async def _postgres_answers(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url), timeout=5)
    await connection.close()


async def _rabbitmq_answers(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=5)
    await connection.close()


async def wait_for_dependencies(settings: GatewaySettings) -> None:
    """Return once PostgreSQL and RabbitMQ accept connections, trying again with backoff and saying what it
    waits for (a gateway restarted during an outage waits instead of exiting). Redis and the gRPC backends are
    connected lazily: while they are down, requests that need them answer 503."""
    await wait_for(f"PostgreSQL at {where(settings.database_url)}", lambda: _postgres_answers(settings.database_url))
    await wait_for(f"RabbitMQ at {where(settings.rabbitmq_url)}", lambda: _rabbitmq_answers(settings.rabbitmq_url))


def serve(settings: GatewaySettings) -> None:
    """Wait for PostgreSQL and RabbitMQ, then serve the REST API on ``BIND_HOST:GATEWAY_PORT`` until SIGTERM or
    SIGINT (while waiting, either signal ends the process at once: nothing is open yet)."""
    try:
        asyncio.run(wait_for_dependencies(settings))
    except KeyboardInterrupt:
        return
    options = {
        "host": settings.bind_host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "proxy_headers": False,  # the app trusts X-Forwarded-For from GATEWAY_TRUSTED_PROXIES only
        "log_config": None,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:  # spawned worker processes; /metrics from any of them counts all of them
        with metrics_shared_by_child_processes():
            uvicorn.run("gateway.app:create_app_from_environment", factory=True, workers=settings.workers, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
