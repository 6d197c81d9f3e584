"""The send gate on a real Redis: both rate limits and the idempotency claim in one atomic call."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from common.redis_client import RedisClient
from gateway.limits import Admission, Verdict
from tests.support.send_gate import fresh_caller, send_gate

pytestmark = pytest.mark.redis_cluster


async def test_the_recipient_limit_refuses_then_recovers_after_its_share_of_the_window(redis: RedisClient) -> None:
    limits = send_gate(redis, user_limit=3, window=0.6)
    application, user = fresh_caller()
    answers = [await limits.admit(application, user, None, "") for _ in range(3)]
    assert [a.verdict for a in answers] == [Verdict.ADMITTED] * 3
    assert [a.rate.remaining for a in answers if a.rate] == [2, 1, 0]
    assert answers[0].rate
    assert answers[0].rate.limit == 3

    refused = await limits.admit(application, user, None, "")
    assert refused.verdict is Verdict.RATE_LIMITED
    assert refused.retry_after_seconds >= 1
    assert refused.rate
    assert refused.rate.remaining == 0

    other_user = await limits.admit(application, str(uuid.uuid4()), None, "")
    assert other_user.verdict is Verdict.ADMITTED

    await asyncio.sleep(0.25)  # one token comes back every 0.2 s
    assert (await limits.admit(application, user, None, "")).verdict is Verdict.ADMITTED


async def test_the_api_application_limit_spans_recipients_and_headers_report_the_closer_limit(
    redis: RedisClient,
) -> None:
    limits = send_gate(redis, application_limit=2, user_limit=10)
    application, _ = fresh_caller()
    first = await limits.admit(application, str(uuid.uuid4()), None, "")
    assert first.rate
    assert (first.rate.limit, first.rate.remaining) == (2, 1)
    assert first.headers()["X-RateLimit-Limit"] == "2"
    await limits.admit(application, str(uuid.uuid4()), None, "")
    assert (await limits.admit(application, str(uuid.uuid4()), None, "")).verdict is Verdict.RATE_LIMITED


async def test_a_refused_send_takes_no_token_from_the_other_limit(redis: RedisClient) -> None:
    limits = send_gate(redis, application_limit=5, user_limit=1)
    application, user = fresh_caller()
    await limits.admit(application, user, None, "")
    for _ in range(3):
        assert (await limits.admit(application, user, None, "")).verdict is Verdict.RATE_LIMITED
    others = [await limits.admit(application, str(uuid.uuid4()), None, "") for _ in range(5)]
    assert [a.verdict for a in others] == [Verdict.ADMITTED] * 4 + [Verdict.RATE_LIMITED]


async def test_limits_set_to_zero_are_off(redis: RedisClient) -> None:
    limits = send_gate(redis, application_limit=0, user_limit=0)
    application, user = fresh_caller()
    answers = [await limits.admit(application, user, None, "") for _ in range(5)]
    assert all(a.verdict is Verdict.ADMITTED and a.rate is None for a in answers)


async def test_idempotency_claim_in_flight_replay_reuse_and_release(redis: RedisClient) -> None:
    limits = send_gate(redis)
    application, user = fresh_caller()
    idem = uuid.uuid4().hex
    first = await limits.admit(application, user, idem, "hash-a")
    assert first.verdict is Verdict.ADMITTED
    assert first.claim is not None

    in_flight = await limits.admit(application, user, idem, "hash-a")
    assert in_flight.verdict is Verdict.IN_FLIGHT
    assert (await limits.admit(application, user, idem, "hash-b")).verdict is Verdict.KEY_REUSED
    other_application = await limits.admit(str(uuid.uuid4()), user, idem, "hash-b")
    assert other_application.verdict is Verdict.ADMITTED  # keys are scoped to the application

    await limits.complete(first.claim, b'{"notification_id": "n1"}')
    replay = await limits.admit(application, user, idem, "hash-a")
    assert replay.verdict is Verdict.REPLAY
    assert replay.stored_response == b'{"notification_id": "n1"}'
    assert replay.rate is not None
    assert replay.rate.remaining == 99  # the other application's send took from its own recipient limiter
    await limits.release(first.claim)  # a completed record is kept
    assert (await limits.admit(application, user, idem, "hash-a")).verdict is Verdict.REPLAY

    failed_idem = uuid.uuid4().hex
    failed = await limits.admit(application, user, failed_idem, "hash-a")
    assert failed.claim is not None
    await limits.release(failed.claim)
    assert (await limits.admit(application, user, failed_idem, "hash-c")).verdict is Verdict.ADMITTED


async def test_many_identical_requests_racing_admit_exactly_one(redis: RedisClient) -> None:
    limits = send_gate(redis)
    application, user = fresh_caller()
    idem = uuid.uuid4().hex
    answers: list[Admission] = await asyncio.gather(*(limits.admit(application, user, idem, "h") for _ in range(50)))
    verdicts = [a.verdict for a in answers]
    assert verdicts.count(Verdict.ADMITTED) == 1
    assert verdicts.count(Verdict.IN_FLIGHT) == 49
