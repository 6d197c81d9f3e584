"""user_svc assembled from its settings: database engine, Redis cache, RabbitMQ publisher and the gRPC
server. ``python -m user_svc`` and the tests build it with the same :func:`build_user_service`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from common.db import create_engine
from common.grpc.server import GrpcServer, build_server, serve_service
from common.redis_client import redis_client
from common.waiting import wait_for, where
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from user_svc.changes import UserChanges
from user_svc.passwords import Passwords
from user_svc.profile_cache import ProfileCache
from user_svc.repository import UserRepository
from user_svc.servicer import UserServicer
from user_svc.settings import UserServiceSettings
from user_svc.topics import TopicRepository

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["UserService"].full_name
REDIS_TIMEOUT_SECONDS = 1.0
"""A Redis that does not answer within this is treated as down (the cache is bypassed)."""


@dataclass
class UserService:
    """A built (not yet started) user_svc and what it holds open."""

    grpc: GrpcServer
    engine: AsyncEngine
    repository: UserRepository
    _resources: contextlib.AsyncExitStack

    async def ready(self) -> bool:
        """Readiness: the database answers ``SELECT 1`` (raises when it does not)."""
        await self.repository.ping()
        return True

    async def close(self) -> None:
        """Stop the server at once (if it runs) and release the database, Redis and RabbitMQ."""
        await self.grpc.server.stop(None)
        await self._resources.aclose()


async def build_user_service(settings: UserServiceSettings) -> UserService:
    """Connect to RabbitMQ (declaring the topology), set up the database engine, Redis and the password
    hasher, and build the gRPC server bound to ``BIND_HOST:USER_SVC_PORT`` (port 0 picks a free one)."""
    resources = contextlib.AsyncExitStack()
    try:
        engine = create_engine(settings.database_url)
        resources.push_async_callback(engine.dispose)
        redis = redis_client(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        resources.push_async_callback(redis.aclose)
        connection = await wait_for(
            f"RabbitMQ at {where(settings.rabbitmq_nodes)}", lambda: connect(settings.rabbitmq_nodes, name="user_svc")
        )
        resources.push_async_callback(connection.close)
        publisher = await Publisher.create(connection, settings.rabbitmq_queue_type)
        passwords = Passwords(
            time_cost=settings.password_time_cost,
            memory_kib=settings.password_memory_kib,
            queue_size=settings.password_queue_size,
        )
        resources.callback(passwords.close)

        repository = UserRepository(engine)
        cache = ProfileCache(redis, settings.profile_cache_ttl_seconds)
        servicer = UserServicer(
            settings=settings,
            repository=repository,
            passwords=passwords,
            cache=cache,
            changes=UserChanges(cache, publisher),
            topics=TopicRepository(engine),
        )

        def register(server: grpc.aio.Server) -> None:
            pb_grpc.add_UserServiceServicer_to_server(servicer, server)

        server = build_server(
            register=register,
            service_names=[SERVICE_NAME],
            internal_key=settings.internal_api_key,
            address=f"{settings.bind_host}:{settings.port}",
            tls=settings.grpc_tls,
        )
        return UserService(grpc=server, engine=engine, repository=repository, _resources=resources)
    except BaseException:
        await resources.aclose()
        raise


def serve(settings: UserServiceSettings) -> None:
    """Serve ``/metrics`` on ``USER_SVC_METRICS_PORT`` and the gRPC service until SIGTERM or SIGINT."""
    serve_service(
        lambda: build_user_service(settings), metrics_host=settings.bind_host, metrics_port=settings.metrics_port
    )
