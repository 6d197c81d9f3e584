"""One real user_svc for the package (test database, Redis db and vhost from the environment), a client
stub on it, and helpers to create users and to watch the database and the change events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import aio_pika
import asyncpg
import grpc
import pytest
from aio_pika.abc import AbstractQueue
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from common.amqp.topology import EVENTS_EXCHANGE
from common.db import plain_url
from common.grpc.client import internal_channel
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings
from user_svc.tables import metadata

EMAIL_DOMAIN = "user-svc-tests.example"
PASSWORD = "correct horse battery"


def new_email(prefix: str = "user") -> str:
    """An address no other test uses, in the domain this package cleans up."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@{EMAIL_DOMAIN}"


async def delete_test_users(database_url: str) -> None:
    """Remove every user this package created."""
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        await connection.execute("DELETE FROM users WHERE email ILIKE $1", f"%@{EMAIL_DOMAIN}")
    finally:
        await connection.close()


@pytest.fixture(scope="package")
async def user_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    settings = user_service_settings(infra, jwt_expires_in="15m")
    await delete_test_users(settings.database_url)
    async with running_user_service(settings) as running:
        yield running
    await delete_test_users(settings.database_url)


@pytest.fixture(scope="package")
async def users(user_service: RunningUserService) -> AsyncIterator[pb_grpc.UserServiceStub]:
    async with internal_channel(user_service.target, user_service.settings.internal_api_key) as channel:
        yield pb_grpc.UserServiceStub(channel)


@pytest.fixture
async def database(user_service: RunningUserService) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the service's database, to look behind its back."""
    connection = await asyncpg.connect(plain_url(user_service.settings.database_url))
    yield connection
    await connection.close()


async def create_user(users: pb_grpc.UserServiceStub, **fields: Any) -> pb.User:
    """Create a user with sensible defaults for the fields not given."""
    values: dict[str, Any] = {"name": "Ada Lovelace", "email": new_email(), "password": PASSWORD}
    values.update(fields)
    return (await users.CreateUser(pb.CreateUserRequest(**values))).user


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error a call fails with; fails the test when it succeeds."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@contextlib.contextmanager
def counting_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements on the service's tables that ``engine`` sends while the block runs (not the health
    probe's ``SELECT 1``, which runs on its own schedule)."""
    statements: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if any(table in statement for table in metadata.tables):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def events(amqp: AmqpSession) -> AsyncIterator[AbstractQueue]:
    """A private queue bound to the events exchange, as any cache outside user_svc would have."""
    queue = await amqp.channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="")
    yield queue
    await queue.delete(if_unused=False, if_empty=False)


async def changes_until(queue: AbstractQueue, user_id: str, timeout: float = 5.0) -> list[pb.UserChanged]:
    """Every ``UserChanged`` on ``queue``, up to and including the next one about ``user_id``."""
    seen: list[pb.UserChanged] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.02)
            continue
        assert message.content_type == "application/x-protobuf"
        assert message.type == "notification.v1.UserChanged"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        seen.append(pb.UserChanged.FromString(message.body))
        if seen[-1].user_id == user_id:
            return seen
    raise AssertionError(f"no UserChanged for {user_id} within {timeout}s")


async def next_change(queue: AbstractQueue, user_id: str, timeout: float = 5.0) -> pb.UserChanged:
    """The next ``UserChanged`` about ``user_id`` (others' events are skipped)."""
    return (await changes_until(queue, user_id, timeout))[-1]
