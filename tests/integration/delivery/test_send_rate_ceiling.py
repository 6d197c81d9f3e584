"""Properties of the workers' provider ceiling (``delivery.rate_limit.RateLimiter``, one Redis slot
schedule shared by every replica) on a real Redis, over random rates, replica counts and bursts: nobody is
refused, the n-th send of a burst waits at least n slots, however many replicas share the ceiling, and once
the schedule has drained the next send goes at once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.redis_client import RedisClient, redis_client
from delivery.rate_limit import RateLimiter

PROPERTY_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLACK_SECONDS = 0.005

pytestmark = pytest.mark.redis_cluster


@PROPERTY_SETTINGS
@given(
    per_second=st.sampled_from([50.0, 100.0, 200.0, 400.0]),
    replicas=st.integers(min_value=1, max_value=3),
    burst=st.integers(min_value=1, max_value=20),
)
async def test_a_burst_is_spaced_one_slot_apart_across_replicas(
    redis_url: str, per_second: float, replicas: int, burst: int
) -> None:
    provider = f"prop-{uuid.uuid4().hex[:12]}"
    clients = [redis_client(redis_url) for _ in range(replicas)]
    try:
        limiters = [RateLimiter(client, provider, per_second) for client in clients]
        started = time.monotonic()
        waits = await asyncio.gather(*(limiters[n % replicas].wait_turn() for n in range(burst)))
        reserving = time.monotonic() - started - max(waits)  # roughly how long the reservations took
        spacing = 1 / per_second
        for slot, waited in enumerate(sorted(waits)):
            assert waited >= slot * spacing - max(reserving, 0.0) - SLACK_SECONDS, (slot, waited)
            assert waited <= slot * spacing + SLACK_SECONDS, (slot, waited)
        await asyncio.sleep(spacing + SLACK_SECONDS)
        assert await limiters[0].wait_turn() == 0.0  # drained: the next send goes at once
    finally:
        for client in clients:
            await client.aclose()


@PROPERTY_SETTINGS
@given(per_second=st.floats(min_value=0.5, max_value=10_000), sends=st.integers(min_value=1, max_value=30))
async def test_sends_over_time_never_beat_the_ceiling(redis: RedisClient, per_second: float, sends: int) -> None:
    limiter = RateLimiter(redis, f"prop-{uuid.uuid4().hex[:12]}", per_second)
    reserved_until = 0.0
    started = time.monotonic()
    for _ in range(sends):
        waited = await limiter._script(keys=[limiter._key], args=[limiter._spacing_us])  # reserve without sleeping
        reserved_until = int(waited) / 1_000_000 + (time.monotonic() - started)
    assert reserved_until >= (sends - 1) / per_second - SLACK_SECONDS
