"""Running the gateway under uvicorn (uvloop, httptools with client limits), one or ``GATEWAY_WORKERS`` processes."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import asyncpg
import uvicorn

from common.amqp.connection import connect
from common.db import plain_url
from common.metrics import metrics_shared_by_child_processes
from common.waiting import wait_for, where
from gateway.app import create_app
from gateway.http_protocol import ClientLimits, GuardedHttpProtocol
from gateway.settings import GatewaySettings


async def _postgres_answers(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url), timeout=5)
    await connection.close()


async def _rabbitmq_answers(nodes: tuple[str, ...]) -> None:
    connection = await connect(nodes, name="gateway-wait")
    await connection.close()


async def wait_for_dependencies(settings: GatewaySettings) -> None:
    """Return once PostgreSQL and RabbitMQ accept connections, trying again with backoff and saying what it
    waits for (a gateway restarted during an outage waits instead of exiting). Redis and the gRPC backends are
    connected lazily: while they are down, requests that need them answer 503."""
    await wait_for(f"PostgreSQL at {where(settings.database_url)}", lambda: _postgres_answers(settings.database_url))
    await wait_for(f"RabbitMQ at {where(settings.rabbitmq_nodes)}", lambda: _rabbitmq_answers(settings.rabbitmq_nodes))


def uvicorn_options(settings: GatewaySettings) -> dict[str, Any]:
    """How uvicorn serves the gateway: uvloop, the httptools protocol with the limits of
    :mod:`gateway.http_protocol`, and no trust in ``X-Forwarded-For`` of its own (the app decides)."""
    limits = ClientLimits(
        max_connections=settings.max_connections,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
    )
    return {
        "host": settings.bind_host,
        "port": settings.port,
        "loop": "uvloop",
        "http": functools.partial(GuardedHttpProtocol, limits=limits),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "proxy_headers": False,  # the app trusts X-Forwarded-For from GATEWAY_TRUSTED_PROXIES only
        "timeout_graceful_shutdown": 10,
    }


def serve(settings: GatewaySettings) -> None:
    """Wait for PostgreSQL and RabbitMQ, then serve the REST API on ``BIND_HOST:GATEWAY_PORT`` until SIGTERM or
    SIGINT (while waiting, either signal ends the process at once: nothing is open yet)."""
    try:
        asyncio.run(wait_for_dependencies(settings))
    except KeyboardInterrupt:
        return
    options = uvicorn_options(settings)
    if settings.workers > 1:  # spawned worker processes; /metrics from any of them counts all of them
        with metrics_shared_by_child_processes():
            uvicorn.run("gateway.app:create_app_from_environment", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
