"""Bursts of CreateUser: distinct emails all succeed; the same email yields exactly one user, even when the
requests race (the unique index decides, not a check-then-insert)."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import PASSWORD, new_email


async def test_200_concurrent_creates_with_distinct_emails_all_succeed(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    emails = [new_email("burst") for _ in range(200)]

    replies = await asyncio.gather(
        *(users.CreateUser(pb.CreateUserRequest(name="Burst", email=email, password=PASSWORD)) for email in emails)
    )

    assert len({reply.user.id for reply in replies}) == 200
    stored = await database.fetchval("SELECT count(*) FROM users WHERE email = ANY($1::text[])", emails)
    assert stored == 200


async def test_20_concurrent_creates_with_one_email_yield_exactly_one_user(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    email = new_email("race")
    attempts = [
        users.CreateUser(pb.CreateUserRequest(name="Racer", email=email if i % 2 else email.upper(), password=PASSWORD))
        for i in range(20)
    ]

    results = await asyncio.gather(*attempts, return_exceptions=True)

    created = [result for result in results if isinstance(result, pb.CreateUserResponse)]
    refused = [result for result in results if isinstance(result, grpc.aio.AioRpcError)]
    assert len(created) == 1
    assert len(refused) == 19
    assert {error.code() for error in refused} == {grpc.StatusCode.ALREADY_EXISTS}
    assert await database.fetchval("SELECT count(*) FROM users WHERE lower(email) = lower($1)", email) == 1
