"""The webhook retry ladder (docs/api.md "Webhooks"): after the n-th failed attempt a delivery waits the n-th
step, and the failure after the last step is final."""

from __future__ import annotations

from collections.abc import Sequence


class RetryLadder:
    """The waits between attempts, in seconds (``WEBHOOK_RETRY_SCHEDULE``)."""

    def __init__(self, delays: Sequence[float]) -> None:
        self._delays = tuple(delays)

    def delay_after(self, attempts_made: int) -> float | None:
        """Seconds until the next attempt after ``attempts_made`` attempts all failed; None when that was the last.
        A manual retry adds an attempt, so one of a delivery whose ladder is spent is final when it fails too."""
        if 1 <= attempts_made <= len(self._delays):
            return self._delays[attempts_made - 1]
        return None
