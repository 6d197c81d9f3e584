"""A Redis client on the test database for the property tests of the Redis-backed limiters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()
