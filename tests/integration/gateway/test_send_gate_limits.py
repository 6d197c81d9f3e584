"""Properties of the gateway's send gate (``gateway/limits.py``, the GCRA rate limits of ``send_gate.lua``) on a
real Redis, over random limits, windows, bursts and arrival patterns: a burst is admitted up to the limit and
not one more; over any stretch of time no more is admitted than the limit plus the window's refill; a refusal
says when to retry; and the limit recovers in full once a window passes idle."""

from __future__ import annotations

import asyncio
import time
from importlib.resources import files

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from common.redis_client import RedisClient
from gateway.limits import Admission, SendGate, Verdict
from gateway.redis_keys import application_limiter, recipient_limiter
from tests.support.send_gate import fresh_caller, send_gate

pytestmark = pytest.mark.redis_cluster

SCRIPT = files("gateway").joinpath("send_gate.lua").read_text()

PROPERTY_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CLOCK_SLACK_SECONDS = 0.01
"""Our clock and Redis's are read at slightly different moments."""


@PROPERTY_SETTINGS
@given(
    application_limit=st.integers(min_value=0, max_value=25),
    user_limit=st.integers(min_value=1, max_value=25),
    burst=st.integers(min_value=0, max_value=40),
)
async def test_a_burst_is_admitted_up_to_the_tighter_limit(
    redis: RedisClient, application_limit: int, user_limit: int, burst: int
) -> None:
    limits = send_gate(redis, application_limit=application_limit, user_limit=user_limit, window=60.0)
    application, user = fresh_caller()
    answers = await asyncio.gather(*(limits.admit(application, user, None, "") for _ in range(burst)))
    tighter = min(limit for limit in (application_limit, user_limit) if limit > 0)  # 0 turns a limit off
    admitted = [a for a in answers if a.verdict is Verdict.ADMITTED]
    refused = [a for a in answers if a.verdict is Verdict.RATE_LIMITED]
    assert len(admitted) == min(burst, tighter)
    assert len(admitted) + len(refused) == burst
    assert sorted(a.rate.remaining for a in admitted if a.rate) == list(range(tighter - len(admitted), tighter))
    assert all(a.retry_after_seconds >= 1 and a.rate and a.rate.remaining == 0 for a in refused)


@PROPERTY_SETTINGS
@example(limit=7, window_ms=60_000)  # 60000 / 7 ms is no exact interval: rounding it once admitted only 6
@example(limit=3, window_ms=170)
@given(limit=st.integers(min_value=1, max_value=400), window_ms=st.sampled_from([150, 1000, 60_000, 3_600_000]))
async def test_a_burst_in_one_instant_admits_exactly_the_limit(redis: RedisClient, limit: int, window_ms: int) -> None:
    """The script itself, called back to back in one transaction: far quicker than one refill interval. (Loaded
    first, on every node of a cluster: a cluster's pipeline leaves that to the caller.)"""
    assume(window_ms / limit >= 50)
    gate_script = redis.register_script(SCRIPT)
    await redis.script_load(SCRIPT)
    application, user = fresh_caller()
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(limit + 2):
            await gate_script(
                keys=[application_limiter(application), recipient_limiter(application, user)],
                args=[window_ms, 0, limit, "", "", 1000],
                client=pipe,
            )
        replies = await pipe.execute()
    verdicts = [int(reply[0]) for reply in replies]
    assert verdicts == [Verdict.ADMITTED] * limit + [Verdict.RATE_LIMITED] * 2
    assert [int(reply[2]) for reply in replies[:limit]] == list(range(limit - 1, -1, -1))  # remaining
    await redis.delete(recipient_limiter(application, user))


async def timed_admissions(
    limits: SendGate, application: str, user: str, gaps: list[float]
) -> list[tuple[float, Admission]]:
    answers = []
    for gap in gaps:
        await asyncio.sleep(gap)
        answers.append((time.monotonic(), await limits.admit(application, user, None, "")))
    return answers


@PROPERTY_SETTINGS
@given(
    limit=st.integers(min_value=1, max_value=8),
    window=st.sampled_from([0.2, 0.4]),
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.03, 0.08]), min_size=1, max_size=30),
)
async def test_no_stretch_of_time_admits_more_than_the_limit_and_its_refill(
    redis: RedisClient, limit: int, window: float, gaps: list[float]
) -> None:
    limits = send_gate(redis, application_limit=0, user_limit=limit, window=window)
    application, user = fresh_caller()
    answers = await timed_admissions(limits, application, user, gaps)
    admitted = [at for at, answer in answers if answer.verdict is Verdict.ADMITTED]
    per_second = limit / window
    for first in range(len(admitted)):
        for last in range(first, len(admitted)):
            span = admitted[last] - admitted[first] + CLOCK_SLACK_SECONDS
            assert last - first + 1 <= limit + span * per_second, (first, last, span)


@PROPERTY_SETTINGS
@given(limit=st.integers(min_value=1, max_value=10), extra=st.integers(min_value=1, max_value=5))
async def test_the_limit_recovers_in_full_after_an_idle_window(redis: RedisClient, limit: int, extra: int) -> None:
    window = 0.15
    limits = send_gate(redis, application_limit=limit, user_limit=limit, window=window)
    application, user = fresh_caller()
    for _ in range(2):
        answers = await asyncio.gather(*(limits.admit(application, user, None, "") for _ in range(limit + extra)))
        assert sum(a.verdict is Verdict.ADMITTED for a in answers) == limit
        await asyncio.sleep(window + CLOCK_SLACK_SECONDS)
