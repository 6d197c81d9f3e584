"""Every write publishes ``UserChanged`` to the ``notifications.events`` fanout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractQueue

from common.amqp.topology import EVENTS_EXCHANGE
from devstack.infra import AmqpSession
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import create_user


@pytest.fixture
async def events(amqp: AmqpSession) -> AsyncIterator[AbstractQueue]:
    """A private queue bound to the events exchange, as any cache outside user_svc would have."""
    queue = await amqp.channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="")
    yield queue
    await queue.delete(if_unused=False, if_empty=False)


async def next_change(queue: AbstractQueue, user_id: str, timeout: float = 5.0) -> pb.UserChanged:
    """The next ``UserChanged`` about ``user_id`` (others' events are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.02)
            continue
        assert message.content_type == "application/x-protobuf"
        assert message.type == "notification.v1.UserChanged"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        event = pb.UserChanged.FromString(message.body)
        if event.user_id == user_id:
            return event
    raise AssertionError(f"no UserChanged for {user_id} within {timeout}s")


async def test_each_write_publishes_user_changed(users: pb_grpc.UserServiceStub, events: AbstractQueue) -> None:
    user = await create_user(users)
    await users.UpdateUser(pb.UpdateUserRequest(user_id=user.id, name="Renamed"))
    await users.UpdatePreferences(pb.UpdatePreferencesRequest(user_id=user.id, preferences=pb.Preferences()))
    await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token="t", platform=pb.PLATFORM_WEB))
    await users.RemoveDevice(pb.RemoveDeviceRequest(user_id=user.id, token="t"))
    await users.DeleteUser(pb.DeleteUserRequest(user_id=user.id))

    kinds = [(await next_change(events, user.id)).kind for _ in range(6)]

    assert kinds == [
        pb.CHANGE_KIND_CREATED,
        pb.CHANGE_KIND_UPDATED,
        pb.CHANGE_KIND_UPDATED,
        pb.CHANGE_KIND_UPDATED,
        pb.CHANGE_KIND_UPDATED,
        pb.CHANGE_KIND_DELETED,
    ]


async def test_an_event_carries_when_the_change_happened(users: pb_grpc.UserServiceStub, events: AbstractQueue) -> None:
    user = await create_user(users)
    event = await next_change(events, user.id)
    assert abs(event.changed_at.ToDatetime() - user.created_at.ToDatetime()).total_seconds() < 5
