"""The service as a whole: internal-key auth, health that follows the database, reflection for grpcurl,
and UNAVAILABLE (not INTERNAL) when the database is down. The "down" database is a closed port, so the
shared PostgreSQL is never touched."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.client import internal_channel
from devstack.infra import Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import PASSWORD, create_user, new_email, rpc_error
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings

GRPCURL = str(Path(sys.executable).with_name("grpcurl"))
SERVICE = "notification.v1.UserService"


async def health_status(target: str, service: str = SERVICE) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    return int(reply.status)


async def wait_for_health(target: str, status: int, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await health_status(target) != status:
        assert asyncio.get_running_loop().time() < deadline, f"health did not become {status} within {timeout}s"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("metadata", [(), (("x-internal-api-key", "wrong-key"),)], ids=["missing", "wrong"])
async def test_a_call_without_the_right_internal_key_is_unauthenticated(
    user_service: RunningUserService, metadata: tuple
) -> None:
    async with grpc.aio.insecure_channel(user_service.target) as channel:
        stub = pb_grpc.UserServiceStub(channel)
        error = await rpc_error(stub.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4())), metadata=metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_is_serving_while_the_database_answers(user_service: RunningUserService) -> None:
    await wait_for_health(user_service.target, health_pb2.HealthCheckResponse.SERVING)
    assert await health_status(user_service.target, "") == health_pb2.HealthCheckResponse.SERVING


def grpcurl(target: str, *command: str, key: str | None, data: str | None = None) -> subprocess.CompletedProcess[str]:
    """``grpcurl -plaintext [-H key] [-d data] target command...``."""
    flags = ["-plaintext", *(["-H", f"x-internal-api-key: {key}"] if key else []), *(["-d", data] if data else [])]
    return subprocess.run([GRPCURL, *flags, target, *command], capture_output=True, text=True, timeout=30)


async def test_grpcurl_lists_describes_and_calls_the_service(user_service: RunningUserService) -> None:
    key = user_service.settings.internal_api_key
    target = user_service.target

    listed = await asyncio.to_thread(grpcurl, target, "list", key=key)
    assert listed.returncode == 0, listed.stderr
    assert {SERVICE, "grpc.health.v1.Health"} <= set(listed.stdout.split())

    described = await asyncio.to_thread(grpcurl, target, "describe", SERVICE, key=key)
    assert described.returncode == 0, described.stderr
    assert "rpc GetNotificationProfile" in described.stdout
    assert "from a cache" in described.stdout  # the contract's comments come through

    email = new_email("grpcurl")
    request = json.dumps({"name": "Grace", "email": email, "password": PASSWORD})
    created = await asyncio.to_thread(grpcurl, target, f"{SERVICE}/CreateUser", key=key, data=request)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["user"]["email"] == email

    refused = await asyncio.to_thread(grpcurl, target, "list", key=None)
    assert refused.returncode != 0
    assert "Unauthenticated" in refused.stderr


async def test_a_database_that_is_down_is_unavailable_and_not_serving(
    infra: Infra, users: pb_grpc.UserServiceStub
) -> None:
    cached = await create_user(users)
    await users.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=cached.id))
    settings = user_service_settings(infra, database_url="postgresql://postgres@127.0.0.1:1/users")

    async with (
        running_user_service(settings) as down,
        internal_channel(down.target, settings.internal_api_key) as channel,
    ):
        await wait_for_health(down.target, health_pb2.HealthCheckResponse.NOT_SERVING)
        stub = pb_grpc.UserServiceStub(channel)
        calls = [
            stub.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4()))),
            stub.ListUsers(pb.ListUsersRequest()),
            stub.CreateUser(pb.CreateUserRequest(name="N", email=new_email(), password=PASSWORD)),
            stub.Authenticate(pb.AuthenticateRequest(email=new_email(), password=PASSWORD)),
            stub.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=str(uuid.uuid4()))),
        ]
        for call in calls:
            assert (await rpc_error(call)).code() == grpc.StatusCode.UNAVAILABLE
        # the shared Redis still holds the profile the healthy server cached: sends keep working
        reply = await stub.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=cached.id))
        assert reply.profile.email == cached.email
        assert await health_status(down.target) == health_pb2.HealthCheckResponse.NOT_SERVING
