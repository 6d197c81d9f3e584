"""Properties of the retry schedule (``delivery.retry.RetryPolicy``) over every attempt, provider hint,
scale and breaker pause: each retry waits on a step of the fixed ladder, steps never shrink as attempts grow,
the jittered expiration stays within 0.8-1.0 x the step (never past the queue's TTL), and a message that keeps
failing is tried exactly ``max_attempts`` times."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.amqp.topology import RETRY_DELAYS_SECONDS
from delivery.retry import JITTER_LOW, RetryPolicy

max_attempts = st.integers(min_value=1, max_value=50)
attempts = st.integers(min_value=1, max_value=100)
hints = st.none() | st.floats(min_value=-10, max_value=10_000, allow_nan=False)
scales = st.sampled_from([1.0, 0.5, 0.01])
fractions = st.floats(min_value=JITTER_LOW, max_value=1.0)
EPSILON = 1e-9


def policy(limit: int, scale: float = 1.0, fraction: float | None = None) -> RetryPolicy:
    if fraction is None:
        return RetryPolicy(limit, scale=scale)
    return RetryPolicy(limit, scale=scale, uniform=lambda low, high: fraction)


@given(max_attempts, attempts, scales)
def test_a_retry_waits_on_a_ladder_step_jittered_within_80_to_100_percent(
    limit: int, attempt: int, scale: float
) -> None:
    schedule = policy(limit, scale).after_failure(attempt)
    assert schedule.step_seconds in RETRY_DELAYS_SECONDS
    assert JITTER_LOW * schedule.step_seconds * scale - EPSILON <= schedule.expiration_seconds
    assert schedule.expiration_seconds <= schedule.step_seconds * scale + EPSILON


@given(max_attempts, attempts, fractions)
def test_steps_never_shrink_as_attempts_grow(limit: int, attempt: int, fraction: float) -> None:
    retry = policy(limit, fraction=fraction)
    earlier, later = retry.after_failure(attempt), retry.after_failure(attempt + 1)
    assert later.step_seconds >= earlier.step_seconds
    assert later.expiration_seconds >= earlier.expiration_seconds  # the same jitter draw


@given(attempts)
def test_the_ladder_is_walked_in_order_then_its_last_step_repeats(attempt: int) -> None:
    expected = RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1]
    assert policy(100).after_failure(attempt).step_seconds == expected


@given(max_attempts, attempts, hints, fractions)
def test_a_provider_hint_moves_up_the_ladder_but_never_past_the_step(
    limit: int, attempt: int, hint: float | None, fraction: float
) -> None:
    plain = policy(limit, fraction=fraction).after_failure(attempt)
    hinted = policy(limit, fraction=fraction).after_failure(attempt, hint)
    assert hinted.step_seconds in RETRY_DELAYS_SECONDS
    assert hinted.step_seconds >= plain.step_seconds
    assert hinted.expiration_seconds <= hinted.step_seconds + EPSILON  # the queue's TTL bounds it anyway
    if hint is not None and 0 < hint <= RETRY_DELAYS_SECONDS[-1]:
        assert hinted.expiration_seconds >= hint - EPSILON  # never back before the provider said


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False), fractions)
def test_a_breaker_deferral_covers_the_pause_on_a_ladder_step(pause: float, fraction: float) -> None:
    schedule = policy(5, fraction=fraction).deferral(pause)
    assert schedule.step_seconds in RETRY_DELAYS_SECONDS
    assert schedule.expiration_seconds <= schedule.step_seconds + EPSILON
    assert schedule.expiration_seconds >= min(pause, RETRY_DELAYS_SECONDS[-1]) - EPSILON


@given(max_attempts)
def test_a_message_that_always_fails_is_tried_exactly_max_attempts_times(limit: int) -> None:
    retry = policy(limit)
    tried = 0
    while True:
        tried += 1  # an attempt is made and fails
        if retry.exhausted(tried):
            break
        retry.after_failure(tried)
        assert tried < limit
    assert tried == limit
