"""Finding 3 (issue 14): a user keeps at most 20 devices with tokens of at most 512 characters, so no number
of registrations can push the notification profile past gRPC's 4 MiB and break every send to the user; and
the routes a user calls with their own token are rate-limited per user (429 with ``Retry-After``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from common.grpc.client import internal_channel
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.gateway.harness import VARIABLES, create_user
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.security.account_stack import AccountStack, login, running_account_stack

USER_TOKEN_LIMIT = 5


def device_token(index: int, length: int = 512) -> str:
    """A distinct registration token of ``length`` characters."""
    prefix = f"device-{index:04d}-{uuid.uuid4().hex}-"
    return prefix + "x" * (length - len(prefix))


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[AccountStack]:
    async with running_account_stack(infra, rate_limit_user_token_per_minute=USER_TOKEN_LIMIT) as running:
        yield running


@pytest.fixture(scope="module")
async def users(stack: AccountStack) -> AsyncIterator[pb_grpc.UserServiceStub]:
    async with internal_channel(stack.users.target, stack.users.settings.internal_api_key) as channel:
        yield pb_grpc.UserServiceStub(channel)


async def test_many_registrations_keep_the_newest_20_and_sends_keep_working(
    stack: AccountStack, users: pb_grpc.UserServiceStub, amqp: AmqpSession
) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    tokens = [device_token(index) for index in range(45)]
    for token in tokens:
        added = await client.post(f"/v1/users/{user['id']}/devices", json={"token": token, "platform": "android"})
        assert added.status_code == 201, added.text

    kept = (await client.get(f"/v1/users/{user['id']}")).json()["devices"]
    assert [device["token"] for device in kept] == tokens[-20:]
    profile = (await users.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=user["id"]))).profile
    assert list(profile.device_tokens) == tokens[-20:]
    assert profile.ByteSize() < 20 * 1024

    sent = await client.post(
        "/v1/notifications/send",
        json={"user_id": user["id"], "channel": "push", "template": "welcome", "variables": VARIABLES},
    )
    assert sent.status_code == 202, sent.text
    message = await amqp.get("push.queue")
    await message.ack()
    envelope = pb.MessageEnvelope.FromString(message.body)
    assert envelope.notification_id == sent.json()["notification_id"]
    assert sorted(envelope.push_recipient.device_tokens) == sorted(tokens[-20:])


async def test_registering_a_kept_device_again_keeps_it(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    tokens = [device_token(index, 64) for index in range(20)]
    for token in tokens:
        await client.post(f"/v1/users/{user['id']}/devices", json={"token": token, "platform": "android"})
    again = await client.post(f"/v1/users/{user['id']}/devices", json={"token": tokens[0], "platform": "ios"})
    assert again.status_code == 201
    newcomer = device_token(99, 64)
    await client.post(f"/v1/users/{user['id']}/devices", json={"token": newcomer, "platform": "web"})

    kept = {device["token"] for device in (await client.get(f"/v1/users/{user['id']}")).json()["devices"]}
    assert kept == {tokens[0], *tokens[2:], newcomer}  # the least recently registered, tokens[1], went


async def test_concurrent_registrations_still_keep_20(stack: AccountStack, users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(stack.gateway.client)
    await asyncio.gather(
        *(
            users.AddDevice(
                pb.AddDeviceRequest(user_id=user["id"], token=device_token(index, 80), platform=pb.PLATFORM_WEB)
            )
            for index in range(60)
        )
    )
    reply = await users.GetUser(pb.GetUserRequest(user_id=user["id"]))
    assert len(reply.user.devices) == 20


async def test_a_token_over_512_characters_is_refused_naming_the_field(
    stack: AccountStack, users: pb_grpc.UserServiceStub
) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    for length in (513, 4096):
        refused = await client.post(
            f"/v1/users/{user['id']}/devices", json={"token": "t" * length, "platform": "android"}
        )
        body = assert_problem(refused, 422)
        assert [error["field"] for error in body["errors"]] == ["token"]
    assert (await client.get(f"/v1/users/{user['id']}")).json()["devices"] == []
    assert (await client.delete(f"/v1/users/{user['id']}/devices/{'t' * 513}")).status_code == 422

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await users.AddDevice(pb.AddDeviceRequest(user_id=user["id"], token="t" * 513, platform=pb.PLATFORM_IOS))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "token" in (raised.value.details() or "")
    added = await client.post(f"/v1/users/{user['id']}/devices", json={"token": device_token(1), "platform": "android"})
    assert added.status_code == 201


async def test_user_token_routes_are_rate_limited_per_user(stack: AccountStack) -> None:
    client = stack.gateway.client
    ada = await create_user(client)
    bob = await create_user(client)
    ada_token = await login(stack.gateway, ada["email"])
    bob_token = await login(stack.gateway, bob["email"])

    for _ in range(USER_TOKEN_LIMIT):
        assert (await client.get(f"/v1/users/{ada['id']}", headers=ada_token)).status_code == 200
    limited = await client.post(
        f"/v1/users/{ada['id']}/devices", json={"token": device_token(1), "platform": "ios"}, headers=ada_token
    )
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1

    assert (await client.get(f"/v1/users/{bob['id']}", headers=bob_token)).status_code == 200
    assert (await client.get(f"/v1/users/{ada['id']}")).status_code == 200  # the application is not limited by it
    assert (await client.get(f"/v1/users/{ada['id']}")).json()["devices"] == []
