"""Authenticate: a JWT the gateway can verify, that expires, and no hint (not even timing) of which part of
the credentials was wrong."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.grpc.client import internal_channel
from common.grpc.errors import field_violations
from common.tokens import AUDIENCE, ISSUER, InvalidToken, verify_token
from devstack.infra import Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import PASSWORD, create_user, new_email, rpc_error
from tests.support.user_service import JWT_SECRET, RunningUserService, running_user_service, user_service_settings


async def test_authenticate_returns_a_jwt_for_the_user(
    users: pb_grpc.UserServiceStub, user_service: RunningUserService
) -> None:
    user = await create_user(users)

    reply = await users.Authenticate(pb.AuthenticateRequest(email=f" {user.email.upper()} ", password=PASSWORD))

    assert (reply.user_id, reply.token_type, reply.expires_in) == (user.id, "bearer", 15 * 60)
    assert verify_token(reply.access_token, user_service.settings.jwt_secret).user_id == user.id
    claims = jwt.decode(reply.access_token, JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert (claims["app"], claims["ver"]) == (str(DEFAULT_APPLICATION_ID), 0)
    assert jwt.get_unverified_header(reply.access_token)["alg"] == "HS256"
    with pytest.raises(InvalidToken):
        verify_token(reply.access_token, "another-secret-of-at-least-32-bytes")


async def test_wrong_credentials_are_unauthenticated_without_saying_which(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    wrong_password = await rpc_error(users.Authenticate(pb.AuthenticateRequest(email=user.email, password="x" * 9)))
    unknown_email = await rpc_error(users.Authenticate(pb.AuthenticateRequest(email=new_email(), password=PASSWORD)))
    for error in (wrong_password, unknown_email):
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_password.details() == unknown_email.details()


async def test_empty_credentials_are_invalid(users: pb_grpc.UserServiceStub) -> None:
    error = await rpc_error(users.Authenticate(pb.AuthenticateRequest()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(error)] == ["email", "password"]


@pytest.fixture(scope="module")
async def production_cost_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    """A user_svc with the default (real) password hash cost and tokens valid for one second."""
    defaults = {"password_time_cost": 2, "password_memory_kib": 19456}
    async with running_user_service(user_service_settings(infra, jwt_expires_in="1", **defaults)) as running:
        yield running


@pytest.fixture(scope="module")
async def slow_users(production_cost_service: RunningUserService) -> AsyncIterator[pb_grpc.UserServiceStub]:
    service = production_cost_service
    async with internal_channel(service.target, service.settings.internal_api_key) as channel:
        yield pb_grpc.UserServiceStub(channel)


async def test_a_token_expires_after_jwt_expires_in(slow_users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(slow_users)
    reply = await slow_users.Authenticate(pb.AuthenticateRequest(email=user.email, password=PASSWORD))
    assert reply.expires_in == 1
    assert verify_token(reply.access_token, JWT_SECRET).user_id == user.id

    expires_at = jwt.decode(reply.access_token, JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE)["exp"]
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)

    with pytest.raises(InvalidToken, match="expired"):
        verify_token(reply.access_token, JWT_SECRET)


async def test_an_unknown_email_takes_as_long_as_a_wrong_password(slow_users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(slow_users)

    async def seconds(email: str) -> float:
        started = time.perf_counter()
        error = await rpc_error(slow_users.Authenticate(pb.AuthenticateRequest(email=email, password="wrong pass")))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        return time.perf_counter() - started

    wrong_password = statistics.median([await seconds(user.email) for _ in range(5)])
    unknown_email = statistics.median([await seconds(new_email()) for _ in range(5)])

    assert wrong_password > 0.005, "the real hash cost is in force"
    assert 0.5 < unknown_email / wrong_password < 2.0
