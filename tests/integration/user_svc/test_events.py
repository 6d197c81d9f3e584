"""Every write publishes ``UserChanged`` to the ``notifications.events`` fanout."""

from __future__ import annotations

from aio_pika.abc import AbstractQueue

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import create_user, next_change


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
