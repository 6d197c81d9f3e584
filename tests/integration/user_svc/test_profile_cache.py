"""GetNotificationProfile: served from the Redis cache on the second read, and every kind of write to the
user invalidates it so the very next read sees the change."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import grpc
import pytest
from prometheus_client import REGISTRY

from common.grpc.client import internal_channel
from common.grpc.errors import field_violations
from common.redis_client import redis_client
from devstack.infra import Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import counting_queries, create_user, rpc_error
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings
from user_svc.profile_cache import ProfileCache


def cache_reads(result: str) -> float:
    return REGISTRY.get_sample_value("user_svc_profile_cache_reads_total", {"result": result}) or 0.0


async def profile(users: pb_grpc.UserServiceStub, user_id: str) -> pb.NotificationProfile:
    return (await users.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=user_id))).profile


async def test_the_profile_has_everything_to_address_a_notification(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users, locale="pt-BR", preferences=pb.Preferences(email=True, push=False))
    for token in ("tok-1", "tok-2"):
        await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token=token, platform=pb.PLATFORM_IOS))

    found = await profile(users, user.id)

    assert (found.user_id, found.email, found.name, found.locale) == (user.id, user.email, user.name, "pt-BR")
    assert (found.preferences.email, found.preferences.push) == (True, False)
    assert list(found.device_tokens) == ["tok-1", "tok-2"]


async def test_the_second_read_comes_from_the_cache_without_touching_the_database(
    users: pb_grpc.UserServiceStub, user_service: RunningUserService
) -> None:
    user = await create_user(users)
    hits, misses = cache_reads("hit"), cache_reads("miss")

    with counting_queries(user_service.service.engine) as first_read:
        first = await profile(users, user.id)
    with counting_queries(user_service.service.engine) as second_read:
        second = await profile(users, user.id)

    assert len(first_read) == 1, "a miss is one query"
    assert second_read == []
    assert second == first
    assert (cache_reads("hit") - hits, cache_reads("miss") - misses) == (1, 1)


async def test_a_cached_profile_is_served_even_when_the_row_changes_behind_the_services_back(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    user = await create_user(users, name="Before")
    await profile(users, user.id)
    await database.execute("UPDATE users SET name = 'Behind its back' WHERE id = $1", uuid.UUID(user.id))
    assert (await profile(users, user.id)).name == "Before"


Write = Callable[[pb_grpc.UserServiceStub, str], Awaitable[object]]

WRITES: dict[str, tuple[Write, Callable[[pb.NotificationProfile], bool]]] = {
    "update user": (
        lambda users, user_id: users.UpdateUser(pb.UpdateUserRequest(user_id=user_id, name="Renamed", locale="fr")),
        lambda seen: (seen.name, seen.locale) == ("Renamed", "fr"),
    ),
    "update preferences": (
        lambda users, user_id: users.UpdatePreferences(
            pb.UpdatePreferencesRequest(user_id=user_id, preferences=pb.Preferences(email=False, push=True))
        ),
        lambda seen: (seen.preferences.email, seen.preferences.push) == (False, True),
    ),
    "add device": (
        lambda users, user_id: users.AddDevice(
            pb.AddDeviceRequest(user_id=user_id, token="new-token", platform=pb.PLATFORM_ANDROID)
        ),
        lambda seen: list(seen.device_tokens) == ["old-token", "new-token"],
    ),
    "remove device": (
        lambda users, user_id: users.RemoveDevice(pb.RemoveDeviceRequest(user_id=user_id, token="old-token")),
        lambda seen: list(seen.device_tokens) == [],
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_every_write_invalidates_the_cached_profile(
    users: pb_grpc.UserServiceStub, user_service: RunningUserService, write: str
) -> None:
    change, changed = WRITES[write]
    user = await create_user(users)
    await users.AddDevice(pb.AddDeviceRequest(user_id=user.id, token="old-token", platform=pb.PLATFORM_WEB))
    before = await profile(users, user.id)
    with counting_queries(user_service.service.engine) as queries:
        assert await profile(users, user.id) == before
    assert queries == [], "the profile is cached before the write"

    await change(users, user.id)

    assert changed(await profile(users, user.id))


async def test_deleting_the_user_evicts_the_cached_profile(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    await profile(users, user.id)
    await profile(users, user.id)

    await users.DeleteUser(pb.DeleteUserRequest(user_id=user.id))

    error = await rpc_error(profile(users, user.id))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_profile_errors(users: pb_grpc.UserServiceStub) -> None:
    missing = await rpc_error(profile(users, str(uuid.uuid4())))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    malformed = await rpc_error(profile(users, "not-a-uuid"))
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(malformed)] == ["user_id"]


@pytest.mark.redis_cluster
async def test_a_read_that_raced_a_write_does_not_put_the_old_profile_back(redis_url: str) -> None:
    redis = redis_client(redis_url)
    cache = ProfileCache(redis, ttl_seconds=60)
    application_id, user_id = uuid.uuid4(), uuid.uuid4()
    loads = 0

    async def load_then_a_write_commits() -> bytes:
        nonlocal loads
        loads += 1
        await cache.invalidate(application_id, user_id)  # the write commits and invalidates while this read is loading
        return b"\x0a\x03old"

    try:
        assert await cache.get_or_load(application_id, user_id, load_then_a_write_commits) == b"\x0a\x03old"

        async def load_fresh() -> bytes:
            nonlocal loads
            loads += 1
            return b"\x0a\x03new"

        assert await cache.get_or_load(application_id, user_id, load_fresh) == b"\x0a\x03new"
        assert await cache.get_or_load(application_id, user_id, load_fresh) == b"\x0a\x03new"
        assert loads == 2, "the stale load was not cached; the fresh one was"
    finally:
        await redis.aclose()


@pytest.mark.parametrize("down", ["redis://127.0.0.1:1/0", "redis+cluster://127.0.0.1:1/0"])
async def test_profiles_are_served_from_the_database_when_redis_is_down(infra: Infra, down: str) -> None:
    settings = user_service_settings(infra, redis_url=down)
    errors = cache_reads("error")
    async with (
        running_user_service(settings) as service,
        internal_channel(service.target, settings.internal_api_key) as channel,
    ):
        users = pb_grpc.UserServiceStub(channel)
        user = await create_user(users)
        await users.UpdatePreferences(
            pb.UpdatePreferencesRequest(user_id=user.id, preferences=pb.Preferences(email=False, push=True))
        )
        found = await profile(users, user.id)
    assert found.preferences.email is False
    assert cache_reads("error") - errors == 1
