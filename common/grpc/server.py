"""The one way our gRPC servers are built and run: TLS when configured (``common.grpc.tls``), internal-key auth,
error mapping, health that follows the service's dependencies, reflection, and a graceful stop on SIGTERM
(docs/design.md §3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from common.grpc.interceptors import InternalKeyInterceptor, ServerContextInterceptor
from common.grpc.reflection import DocumentedReflectionServicer
from common.grpc.tls import PLAINTEXT, GrpcTls, bind
from common.heap import freeze_startup_heap
from common.metrics import serve_metrics

logger = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[bool]]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class GrpcServer:
    """A built server, its health servicer and the names of the services it serves."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service_names: Sequence[str]
    port: int

    async def set_serving(self, serving: bool) -> None:
        """Report every served service (and the server as a whole) as serving or not."""
        status = SERVING if serving else NOT_SERVING
        for name in ("", *self.service_names):
            await self.health.set(name, status)


def build_server(
    *,
    register: Callable[[grpc.aio.Server], None],
    service_names: Sequence[str],
    internal_key: str,
    address: str,
    tls: GrpcTls = PLAINTEXT,
) -> GrpcServer:
    """A server with our interceptors, the services ``register`` adds, health and reflection, bound to
    ``address`` (``host:port``; port 0 picks a free one), over TLS when ``tls`` is enabled."""
    server = grpc.aio.server(interceptors=[InternalKeyInterceptor(internal_key), ServerContextInterceptor()])
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        DocumentedReflectionServicer(
            [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        ),
        server,
    )
    port = bind(server, address, tls)
    return GrpcServer(server=server, health=health_servicer, service_names=service_names, port=port)


async def watch_readiness(server: GrpcServer, readiness: Readiness, interval: float = 2.0) -> None:
    """Keep health in step with ``readiness`` (e.g. "the database answers") until cancelled. The check runs under
    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` can swallow a cancellation that arrives as the
    check completes, and this loop would then never end (a service's stop hung on it)."""
    serving: bool | None = None
    while True:
        try:
            async with asyncio.timeout(interval):
                ready = await readiness()
        except Exception:
            ready = False
        if ready != serving:
            serving = ready
            await server.set_serving(ready)
            logger.log(logging.INFO if ready else logging.WARNING, "health: %s", "SERVING" if ready else "NOT_SERVING")
        await asyncio.sleep(interval)


async def run_until_stopped(server: GrpcServer, readiness: Readiness, grace_seconds: float = 5.0) -> None:
    """Start ``server``, keep its health current, and on SIGTERM or SIGINT stop taking calls, let the calls
    under way finish within ``grace_seconds``, and return."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.server.start()
    freeze_startup_heap()
    logger.info("gRPC server listening on port %d", server.port)
    watcher = asyncio.create_task(watch_readiness(server, readiness))
    try:
        await stop.wait()
    finally:
        logger.info("stopping: finishing calls under way")
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await server.health.enter_graceful_shutdown()
        await server.server.stop(grace_seconds)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


class RunnableService(Protocol):
    """A built gRPC service: its server, a readiness check for health, and its resources to release."""

    grpc: GrpcServer

    async def ready(self) -> bool:
        """Whether the service's dependencies answer."""
        ...

    async def close(self) -> None:
        """Release what the service holds."""
        ...


def serve_service(build: Callable[[], Awaitable[RunnableService]], *, metrics_host: str, metrics_port: int) -> None:
    """The body of a gRPC service's ``serve``: ``/metrics`` on its side port, then build the service and run it
    until SIGTERM or SIGINT, releasing its resources after."""
    serve_metrics(metrics_host, metrics_port)

    async def run() -> None:
        service = await build()
        try:
            await run_until_stopped(service.grpc, service.ready)
        finally:
            await service.close()

    asyncio.run(run())
