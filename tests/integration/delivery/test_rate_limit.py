"""The provider ceiling on real Redis: replicas share it, and nobody is refused, only paced."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from common.redis_client import redis_client
from delivery.rate_limit import RateLimiter

pytestmark = pytest.mark.redis_cluster


async def test_two_replicas_share_one_ceiling(redis_url: str) -> None:
    provider = f"test-{uuid.uuid4().hex[:8]}"
    first, second = redis_client(redis_url), redis_client(redis_url)
    try:
        limiters = [RateLimiter(first, provider, 50), RateLimiter(second, provider, 50)]
        sent: list[float] = []

        async def send(limiter: RateLimiter) -> None:
            await limiter.wait_turn()
            sent.append(time.monotonic())

        await asyncio.gather(first.ping(), second.ping())  # connected (a cluster's map loaded) before the clock starts
        started = time.monotonic()
        await asyncio.gather(*(send(limiters[n % 2]) for n in range(60)))
        elapsed = time.monotonic() - started
    finally:
        await first.aclose()
        await second.aclose()
    assert len(sent) == 60
    assert 59 / 50 - 0.05 <= elapsed < 59 / 50 + 1.0  # evenly paced: ~1.18 s for 60 sends at 50/s
    sent.sort()
    assert min(sent[i + 50] - sent[i] for i in range(10)) >= 0.95
