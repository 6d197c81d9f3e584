"""A profile still in use near the end of its lifetime is fetched again in the background: the send that finds
it gets the held copy at once, and the next ones find a fresh copy instead of a miss."""

from __future__ import annotations

import asyncio

from common.grpc.client import internal_channel
from gateway.profiles import ProfileCache
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.gateway.harness import DEFAULT_APPLICATION, Gateway, create_user
from tests.support.user_service import RunningUserService


async def test_a_profile_in_use_is_refreshed_before_it_expires(
    gateway: Gateway, user_service: RunningUserService
) -> None:
    user = await create_user(gateway.client, name="Ada")
    async with internal_channel(user_service.target, user_service.settings.internal_api_key) as channel:
        cache = ProfileCache(pb_grpc.UserServiceStub(channel), timeout=2, ttl_seconds=0.4, size=10)
        first = await cache.get(DEFAULT_APPLICATION, user["id"])
        _, expires, refresh_from = cache._entries[(DEFAULT_APPLICATION, user["id"])]
        await asyncio.sleep(max(0.0, refresh_from - asyncio.get_running_loop().time()) + 0.01)

        assert (
            cache.cached(DEFAULT_APPLICATION, user["id"]) == first
        )  # the held copy, at once; a refresh starts behind it
        await asyncio.gather(*filter(None, [cache._refresher]))
        assert cache._entries[(DEFAULT_APPLICATION, user["id"])][1] > expires
        await asyncio.sleep(max(0.0, expires - asyncio.get_running_loop().time()) + 0.01)
        assert cache.cached(DEFAULT_APPLICATION, user["id"]) == first  # past the first copy's lifetime: still a hit


async def test_an_eviction_during_a_refresh_wins(gateway: Gateway, user_service: RunningUserService) -> None:
    user = await create_user(gateway.client)
    async with internal_channel(user_service.target, user_service.settings.internal_api_key) as channel:
        cache = ProfileCache(pb_grpc.UserServiceStub(channel), timeout=2, ttl_seconds=0.4, size=10)
        await cache.get(DEFAULT_APPLICATION, user["id"])
        _, _, refresh_from = cache._entries[(DEFAULT_APPLICATION, user["id"])]
        await asyncio.sleep(max(0.0, refresh_from - asyncio.get_running_loop().time()) + 0.01)
        assert cache.cached(DEFAULT_APPLICATION, user["id"]) is not None
        cache.evict(DEFAULT_APPLICATION, user["id"])  # the user changed while the refresh is gathered or in flight
        await asyncio.gather(*filter(None, [cache._refresher]))
        assert cache.cached(DEFAULT_APPLICATION, user["id"]) is None
