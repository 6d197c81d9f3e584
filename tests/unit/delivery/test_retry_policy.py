"""The retry ladder: which step an attempt waits on, the jitter, the provider's hint, breaker deferrals."""

import pytest

from common.amqp.topology import RETRY_DELAYS_SECONDS
from delivery.retry import RetryPolicy


def low(a: float, b: float) -> float:
    return a


def high(a: float, b: float) -> float:
    return b


@pytest.mark.parametrize(("attempt", "step"), [(1, 5), (2, 30), (3, 120), (4, 300), (5, 600), (9, 600)])
def test_each_attempt_waits_on_the_next_step_of_the_ladder(attempt: int, step: int) -> None:
    assert RetryPolicy(10).after_failure(attempt).step_seconds == step


def test_the_expiration_is_jittered_between_80_and_100_percent_of_the_step() -> None:
    assert RetryPolicy(5, uniform=low).after_failure(2).expiration_seconds == pytest.approx(24.0)
    assert RetryPolicy(5, uniform=high).after_failure(2).expiration_seconds == pytest.approx(30.0)
    for _ in range(200):
        assert 4.0 <= RetryPolicy(5).after_failure(1).expiration_seconds <= 5.0


def test_the_scale_shortens_only_the_expiration() -> None:
    schedule = RetryPolicy(5, scale=0.01, uniform=high).after_failure(3)
    assert schedule.step_seconds == 120
    assert schedule.expiration_seconds == pytest.approx(1.2)


def test_a_retry_after_hint_moves_up_the_ladder_and_is_waited_at_least() -> None:
    schedule = RetryPolicy(5, uniform=low).after_failure(1, retry_after=45)
    assert schedule.step_seconds == 120
    assert schedule.expiration_seconds == pytest.approx(96.0)
    hinted = RetryPolicy(5, uniform=low).after_failure(1, retry_after=5)
    assert (hinted.step_seconds, hinted.expiration_seconds) == (5, 5.0)
    beyond = RetryPolicy(5).after_failure(1, retry_after=3600)
    assert beyond.step_seconds == RETRY_DELAYS_SECONDS[-1]


def test_attempts_are_exhausted_at_the_maximum() -> None:
    policy = RetryPolicy(3)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)
    with pytest.raises(ValueError):
        RetryPolicy(0)


def test_a_deferral_waits_out_the_breaker_pause_on_the_shortest_covering_step() -> None:
    deferral = RetryPolicy(5, scale=0.001, uniform=high).deferral(12.0)
    assert deferral.step_seconds == 30
    assert deferral.expiration_seconds == pytest.approx(12.0)  # the pause is real time: not scaled
    unscaled = RetryPolicy(5, uniform=high).deferral(12.0)
    assert unscaled.expiration_seconds == pytest.approx(30.0)
