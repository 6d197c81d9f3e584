"""template_svc assembled from its settings: database engine, RabbitMQ publisher, the sandboxed renderer and
the gRPC server. ``python -m template_svc`` and the tests build it with the same :func:`build_template_service`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from common.db import create_engine
from common.grpc.server import GrpcServer, build_server, serve_service
from common.waiting import wait_for, where
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from template_svc.repository import TemplateRepository
from template_svc.servicer import TemplateServicer
from template_svc.settings import TemplateServiceSettings
from templating import RenderLimits, TemplateRenderer

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TemplateService"].full_name


@dataclass
class TemplateService:
    """A built (not yet started) template_svc and what it holds open."""

    grpc: GrpcServer
    engine: AsyncEngine
    repository: TemplateRepository
    renderer: TemplateRenderer
    _resources: contextlib.AsyncExitStack

    async def ready(self) -> bool:
        """Readiness: the database answers ``SELECT 1`` (raises when it does not)."""
        await self.repository.ping()
        return True

    async def close(self) -> None:
        """Stop the server at once (if it runs) and release the database, RabbitMQ and the render threads."""
        await self.grpc.server.stop(None)
        await self._resources.aclose()


def render_limits(settings: TemplateServiceSettings) -> RenderLimits:
    """The renderer's limits from the settings."""
    return RenderLimits(
        max_chars=settings.max_output_chars,
        time_limit=settings.render_timeout_seconds,
        threads=settings.render_threads,
        cache_size=settings.compile_cache_size,
    )


async def build_template_service(settings: TemplateServiceSettings) -> TemplateService:
    """Connect to RabbitMQ (declaring the topology), set up the database engine and the renderer, and build the
    gRPC server bound to ``BIND_HOST:TEMPLATE_SVC_PORT`` (port 0 picks a free one)."""
    resources = contextlib.AsyncExitStack()
    try:
        # No pre-ping: every send renders, and the ping would triple the round trips of the one lookup. After a
        # database restart one call per stale connection fails as UNAVAILABLE (clients retry it) and the pool
        # is invalidated.
        engine = create_engine(settings.database_url, pre_ping=False)
        resources.push_async_callback(engine.dispose)
        connection = await wait_for(
            f"RabbitMQ at {where(settings.rabbitmq_nodes)}",
            lambda: connect(settings.rabbitmq_nodes, name="template_svc"),
        )
        resources.push_async_callback(connection.close)
        publisher = await Publisher.create(connection, settings.rabbitmq_queue_type)
        renderer = TemplateRenderer(render_limits(settings))
        resources.callback(renderer.close)

        repository = TemplateRepository(engine)
        servicer = TemplateServicer(repository, renderer, publisher, settings.default_locale)

        def register(server: grpc.aio.Server) -> None:
            pb_grpc.add_TemplateServiceServicer_to_server(servicer, server)

        server = build_server(
            register=register,
            service_names=[SERVICE_NAME],
            internal_key=settings.internal_api_key,
            address=f"{settings.bind_host}:{settings.port}",
            tls=settings.grpc_tls,
        )
        return TemplateService(
            grpc=server, engine=engine, repository=repository, renderer=renderer, _resources=resources
        )
    except BaseException:
        await resources.aclose()
        raise


def serve(settings: TemplateServiceSettings) -> None:
    """Serve ``/metrics`` on ``TEMPLATE_SVC_METRICS_PORT`` and the gRPC service until SIGTERM or SIGINT."""
    serve_service(
        lambda: build_template_service(settings), metrics_host=settings.bind_host, metrics_port=settings.metrics_port
    )
