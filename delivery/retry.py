"""When a failed or deferred delivery is tried again (docs/design.md §3).

The retry queues form a fixed ladder (``RETRY_DELAYS_SECONDS``: 5 s, 30 s, 2 m, 5 m, 10 m). Attempt ``n``
waits on step ``n`` (the ladder grows roughly exponentially; the last step repeats), and the message carries a
per-message expiration of 0.8-1.0 x the step, so copies that failed together do not come back together. The
queue's TTL is the step itself, so it bounds the expiration from above.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from common.amqp.topology import RETRY_DELAYS_SECONDS

JITTER_LOW = 0.8
"""The smallest fraction of a step a message waits; the largest is 1.0."""


@dataclass(frozen=True)
class RetrySchedule:
    """Where a retry goes and when it comes back."""

    step_seconds: int
    """The ladder step: the routing key ``{channel}.{step}`` on ``notifications.retry``."""
    expiration_seconds: float
    """The per-message expiration: how long the copy waits before it returns to the work queue."""


class RetryPolicy:
    """Decides whether a failed attempt is retried, and on which step of the ladder.

    ``scale`` multiplies every expiration (1.0 in production; tests use e.g. 0.01 to run the ladder in
    milliseconds). ``uniform`` draws the jitter fraction.
    """

    def __init__(
        self,
        max_attempts: int,
        *,
        scale: float = 1.0,
        ladder: Sequence[int] = RETRY_DELAYS_SECONDS,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self._scale = scale
        self._ladder = tuple(sorted(ladder))
        self._uniform = uniform

    def exhausted(self, attempts_made: int) -> bool:
        """True when ``attempts_made`` attempts leave no retry."""
        return attempts_made >= self.max_attempts

    def after_failure(self, attempts_made: int, retry_after: float | None = None) -> RetrySchedule:
        """The retry after attempt number ``attempts_made`` (1 = the first) failed; ``retry_after`` is the
        provider's hint in seconds, honoured by moving up the ladder to a step at least that long."""
        step = self._ladder[min(max(attempts_made, 1), len(self._ladder)) - 1]
        floor = 0.0
        if retry_after is not None and retry_after > 0:
            step = max(step, self._step_at_least(retry_after))
            floor = min(retry_after, step)
        expiration = max(floor, step * self._uniform(JITTER_LOW, 1.0)) * self._scale
        return RetrySchedule(step_seconds=step, expiration_seconds=expiration)

    def deferral(self, wait_seconds: float) -> RetrySchedule:
        """A send deferred for ``wait_seconds`` (an open circuit breaker): the shortest step that covers the
        wait, expiring no sooner than the wait itself (which is not scaled: it is already a real pause)."""
        step = self._step_at_least(wait_seconds)
        jittered = step * self._uniform(JITTER_LOW, 1.0) * self._scale
        return RetrySchedule(step_seconds=step, expiration_seconds=min(float(step), max(wait_seconds, jittered)))

    def _step_at_least(self, seconds: float) -> int:
        return next((step for step in self._ladder if step >= seconds), self._ladder[-1])
