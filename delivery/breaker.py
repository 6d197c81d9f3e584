"""A circuit breaker per provider: stop calling a provider that keeps failing, probe it after a pause.

closed --(``threshold`` consecutive transient failures)--> open --(``pause`` elapsed)--> half-open, where one
probe call may go: its success closes the breaker, its failure opens it for another pause. Any answer that
proves the provider is up (a delivery, a permanent refusal) resets the failure count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import IntEnum

logger = logging.getLogger(__name__)


class BreakerState(IntEnum):
    """The breaker's state; the value is what the metrics gauge shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Counts consecutive transient failures of one provider and decides whether a call may go.

    Use: ``may_call()`` as a cheap early check, then ``acquire()`` right before the call (it takes the one
    probe slot when half-open), then exactly one of ``record_success()``, ``record_failure()`` or
    ``release()`` (the call did not happen after all).
    """

    def __init__(
        self,
        name: str,
        *,
        threshold: int,
        pause_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = threshold
        self._pause = pause_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker whose pause has passed reads as half-open)."""
        if self._state is BreakerState.OPEN and self.remaining_pause() == 0:
            return BreakerState.HALF_OPEN
        return self._state

    def remaining_pause(self) -> float:
        """Seconds until an open breaker lets a probe through; 0 when it is not open or the pause is over."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._pause - self._clock())

    def may_call(self) -> bool:
        """Whether a call could go now, without taking the probe slot."""
        state = self.state
        return state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self._probing)

    def acquire(self) -> bool:
        """Take permission for one call; when half-open only one probe holds it at a time."""
        if not self.may_call():
            return False
        if self.state is BreakerState.HALF_OPEN:
            self._set_state(BreakerState.HALF_OPEN)
            self._probing = True
        return True

    def release(self) -> None:
        """Give back a permission whose call did not happen."""
        self._probing = False

    def record_success(self) -> None:
        """The provider answered: close the breaker and forget past failures."""
        self._probing = False
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._set_state(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """A transient failure: open after ``threshold`` in a row, or at once when it was the probe."""
        was_probe = self._probing
        self._probing = False
        self._failures += 1
        if was_probe or (self._state is BreakerState.CLOSED and self._failures >= self._threshold):
            self._opened_at = self._clock()
            self._set_state(BreakerState.OPEN)

    def _set_state(self, state: BreakerState) -> None:
        if state is not self._state:
            logger.warning("circuit breaker %s: %s -> %s", self.name, self._state.name, state.name)
        self._state = state
