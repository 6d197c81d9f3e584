"""A real user_svc, in-process, on a free port: for user_svc's own tests and for any test (gateway, e2e)
that needs one. Built by the same ``build_user_service`` as ``python -m user_svc``.

    settings = user_service_settings(infra, jwt_expires_in="15m")
    async with running_user_service(settings) as service:
        async with internal_channel(service.target, settings.internal_api_key) as channel: ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.server import watch_readiness
from common.grpc.tls import GrpcTls, aio_channel
from devstack.infra import Infra
from user_svc.server import SERVICE_NAME, UserService, build_user_service
from user_svc.settings import UserServiceSettings

INTERNAL_KEY = "user-svc-test-key"
JWT_SECRET = "user-svc-test-jwt-secret-of-32-bytes-or-more"
READINESS_INTERVAL_SECONDS = 0.2
"""How often a test server re-checks its database for health (2 s in production)."""


def user_service_settings(infra: Infra, **overrides: Any) -> UserServiceSettings:
    """Settings on the test database (migrated), Redis and vhost, a free port and a cheap password hash
    (1 pass over 1 MiB instead of ~25 ms per hash); ``overrides`` are field names, e.g. ``jwt_expires_in="1"``."""
    values: dict[str, Any] = {
        "database_url": infra.database("USER_SVC_DATABASE_URL"),
        "redis_url": infra.redis_url,
        "rabbitmq_url": infra.rabbitmq_url,
        "bind_host": "127.0.0.1",
        "port": 0,
        "internal_api_key": INTERNAL_KEY,
        "jwt_secret": JWT_SECRET,
        "password_time_cost": 1,
        "password_memory_kib": 1024,
    }
    values.update(overrides)
    return UserServiceSettings(**values)


class RunningUserService:
    """A started user_svc: its gRPC target and the built service (engine, health server)."""

    def __init__(self, service: UserService, settings: UserServiceSettings) -> None:
        self.service = service
        self.settings = settings
        self.target = f"127.0.0.1:{service.grpc.port}"


async def _wait_for_first_health_check(target: str, tls: GrpcTls, timeout: float = 5.0) -> None:
    """Until the service's health status is set (SERVING or NOT_SERVING), so callers never see NOT_FOUND."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aio_channel(target, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
                return
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_user_service(
    settings: UserServiceSettings, client_tls: GrpcTls | None = None
) -> AsyncIterator[RunningUserService]:
    """Build and start user_svc with ``settings``, keep its health in step with its database (it is known
    when this yields, asked over ``client_tls``, by default the service's own TLS files), and stop it afterwards."""
    service = await build_user_service(settings)
    await service.grpc.server.start()
    watcher = asyncio.create_task(watch_readiness(service.grpc, service.ready, READINESS_INTERVAL_SECONDS))
    try:
        running = RunningUserService(service, settings)
        await _wait_for_first_health_check(running.target, client_tls or settings.grpc_tls)
        yield running
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await service.close()
