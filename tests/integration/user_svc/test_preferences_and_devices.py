"""Channel preferences and push devices."""

from __future__ import annotations

import uuid

import grpc

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import create_user, rpc_error


async def test_update_preferences_replaces_them(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    reply = await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=user.id, preferences=pb.Preferences(email=False, push=False))
    )
    assert (reply.preferences.email, reply.preferences.push) == (False, False)
    stored = (await users.GetUser(pb.GetUserRequest(user_id=user.id))).user.preferences
    assert (stored.email, stored.push) == (False, False)


async def test_update_preferences_errors(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    unset = await rpc_error(users.UpdatePreferences(pb.UpdatePreferencesRequest(user_id=user.id)))
    assert unset.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(unset)] == ["preferences"]
    missing = await rpc_error(
        users.UpdatePreferences(pb.UpdatePreferencesRequest(user_id=str(uuid.uuid4()), preferences=pb.Preferences()))
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    malformed = await rpc_error(
        users.UpdatePreferences(pb.UpdatePreferencesRequest(user_id="x", preferences=pb.Preferences()))
    )
    assert [v.field for v in field_violations(malformed)] == ["user_id"]


async def test_add_device_registers_a_token_once(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    request = pb.AddDeviceRequest(user_id=user.id, token="fcm-token-1", platform=pb.PLATFORM_ANDROID)

    first = await users.AddDevice(request)
    again = await users.AddDevice(request)

    assert first.created is True
    assert (first.device.token, first.device.platform) == ("fcm-token-1", pb.PLATFORM_ANDROID)
    assert again.created is False
    assert again.device == first.device
    devices = (await users.GetUser(pb.GetUserRequest(user_id=user.id))).user.devices
    assert [d.token for d in devices] == ["fcm-token-1"]


async def test_the_same_token_may_belong_to_two_users(users: pb_grpc.UserServiceStub) -> None:
    first, second = await create_user(users), await create_user(users)
    for user in (first, second):
        reply = await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token="shared", platform=pb.PLATFORM_IOS))
        assert reply.created is True


async def test_add_device_errors(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    unknown = pb.AddDeviceRequest(user_id=user.id, token="t")
    unknown.MergeFromString(b"\x18\x63")  # platform = 99: a value this contract does not know (a newer client)
    for request in (pb.AddDeviceRequest(user_id=user.id, token="t"), unknown):
        error = await rpc_error(users.AddDevice(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(error)] == ["platform"]
    error = await rpc_error(users.AddDevice(pb.AddDeviceRequest(user_id="x", token=" ", platform=pb.PLATFORM_WEB)))
    assert [v.field for v in field_violations(error)] == ["user_id", "token"]
    missing = await rpc_error(
        users.AddDevice(pb.AddDeviceRequest(user_id=str(uuid.uuid4()), token="t", platform=pb.PLATFORM_WEB))
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_remove_device(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token="keep", platform=pb.PLATFORM_WEB))
    await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token="drop", platform=pb.PLATFORM_WEB))

    await users.RemoveDevice(pb.RemoveDeviceRequest(user_id=user.id, token="drop"))

    devices = (await users.GetUser(pb.GetUserRequest(user_id=user.id))).user.devices
    assert [d.token for d in devices] == ["keep"]
    gone = await rpc_error(users.RemoveDevice(pb.RemoveDeviceRequest(user_id=user.id, token="drop")))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    assert "no device" in gone.details()


async def test_remove_device_errors(users: pb_grpc.UserServiceStub) -> None:
    missing = await rpc_error(users.RemoveDevice(pb.RemoveDeviceRequest(user_id=str(uuid.uuid4()), token="t")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert "does not exist" in missing.details()
    malformed = await rpc_error(users.RemoveDevice(pb.RemoveDeviceRequest(user_id="x", token="")))
    assert [v.field for v in field_violations(malformed)] == ["user_id", "token"]
