"""The circuit breaker's states on a fake clock."""

from delivery.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("smtp", threshold=3, pause_seconds=10, clock=clock)


def test_it_opens_after_the_threshold_of_consecutive_failures() -> None:
    subject = breaker(Clock())
    for _ in range(2):
        assert subject.acquire()
        subject.record_failure()
    assert subject.state is BreakerState.CLOSED
    assert subject.acquire()
    subject.record_failure()
    assert subject.state is BreakerState.OPEN
    assert not subject.may_call()
    assert not subject.acquire()


def test_a_success_resets_the_count() -> None:
    subject = breaker(Clock())
    for _ in range(2):
        subject.record_failure()
    subject.record_success()
    for _ in range(2):
        subject.record_failure()
    assert subject.state is BreakerState.CLOSED


def test_after_the_pause_one_probe_goes_and_its_success_closes() -> None:
    clock = Clock()
    subject = breaker(clock)
    for _ in range(3):
        subject.record_failure()
    clock.now += 4
    assert subject.remaining_pause() == 6
    clock.now += 6
    assert subject.state is BreakerState.HALF_OPEN
    assert subject.acquire()
    assert not subject.acquire()  # one probe at a time
    subject.record_success()
    assert subject.state is BreakerState.CLOSED
    assert subject.acquire()


def test_a_failed_probe_opens_again_for_a_full_pause() -> None:
    clock = Clock()
    subject = breaker(clock)
    for _ in range(3):
        subject.record_failure()
    clock.now += 10
    assert subject.acquire()
    subject.record_failure()
    assert subject.state is BreakerState.OPEN
    assert subject.remaining_pause() == 10


def test_a_probe_that_did_not_happen_is_given_back() -> None:
    clock = Clock()
    subject = breaker(clock)
    for _ in range(3):
        subject.record_failure()
    clock.now += 10
    assert subject.acquire()
    subject.release()
    assert subject.acquire()
