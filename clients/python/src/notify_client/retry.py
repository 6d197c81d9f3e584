"""When to try a request again and after how long. Pure decisions, no I/O: the sync and the async client ask the
same :class:`RetryPolicy` and only sleep differently."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from notify_client.errors import retry_after_seconds

RETRYABLE_STATUSES = frozenset({429, 503})
"""The gateway accepted nothing on these (docs/api.md §6): safe to send again, with the same Idempotency-Key."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` tries in all. A 429 or 503 waits its ``Retry-After`` (when it is
    longer than ``max_retry_after`` the error is raised instead: the caller should decide); without one, and
    after a connection error, full-jitter exponential backoff from ``backoff`` seconds up to ``max_backoff``.
    A 409 ``request-in-flight`` (the first request with this Idempotency-Key is still running) is retried like a
    429."""

    max_attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def after_response(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after ``response``, or ``None`` to stop here."""
        if attempt >= self.max_attempts or not _retryable(response):
            return None
        wait = retry_after_seconds(response.headers)
        if wait is None:
            return self.jittered(attempt)
        return wait if wait <= self.max_retry_after else None

    def after_error(self, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait after a connection error on attempt ``attempt``; only an idempotent call is repeated
        (its first try may have been carried out)."""
        if attempt >= self.max_attempts or not idempotent:
            return None
        return self.jittered(attempt)

    def jittered(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_backoff, backoff * 2^(attempt-1))], so retrying clients spread."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))  # noqa: S311


NO_RETRIES = RetryPolicy(max_attempts=1)


def _retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRYABLE_STATUSES:
        return True
    return response.status_code == 409 and response.headers.get("retry-after") is not None
