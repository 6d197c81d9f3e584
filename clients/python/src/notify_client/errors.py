"""Typed exceptions: every error answer of the gateway is an RFC 9457 problem, raised as the subclass of
:class:`ProblemError` its status names, carrying the whole problem JSON. Branch on ``problem_type``
(``/problems/<name>``) or the class, never on ``detail``."""

from __future__ import annotations

from typing import Any

import httpx


class NotifyError(Exception):
    """Anything this client raises."""


class ConnectionFailed(NotifyError):
    """The gateway could not be reached (after the retries an idempotent request gets)."""


class ProblemError(NotifyError):
    """An error answer. ``problem`` is the body as sent (unknown members included)."""

    def __init__(self, status: int, problem: dict[str, Any], headers: httpx.Headers | None = None) -> None:
        self.status = status
        self.problem = problem
        self.headers = headers or httpx.Headers()
        super().__init__(f"{status} {self.problem_type}: {self.detail or self.title}")

    @property
    def problem_type(self) -> str:
        """The problem's ``type`` URI, e.g. ``/problems/rate-limited``; ``about:blank`` when absent."""
        return str(self.problem.get("type") or "about:blank")

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")

    @property
    def request_id(self) -> str | None:
        """The request's id in every service's log: quote it when reporting a problem."""
        value = self.problem.get("request_id") or self.headers.get("x-request-id")
        return str(value) if value else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For validation problems, ``[{"field", "message"}, ...]``."""
        return list(self.problem.get("errors") or [])

    @property
    def retry_after(self) -> float | None:
        """Seconds the gateway asked to wait before retrying (``Retry-After``), when it said."""
        return retry_after_seconds(self.headers)


class BadRequest(ProblemError):
    """400: the body is not JSON or not UTF-8."""


class Unauthenticated(ProblemError):
    """401: no valid credential."""


class Forbidden(ProblemError):
    """403: the credential may not do this (``/problems/scope-missing`` names ``required_scope``)."""

    @property
    def required_scope(self) -> str | None:
        value = self.problem.get("required_scope")
        return str(value) if value else None


class NotFound(ProblemError):
    """404: it does not exist in the caller's application."""


class Conflict(ProblemError):
    """409: a duplicate, a failed precondition, an idempotency key reused or still in flight."""


class PayloadTooLarge(ProblemError):
    """413."""


class UnsupportedMediaType(ProblemError):
    """415."""


class InvalidFields(ProblemError):
    """422: fields failed validation; :attr:`errors` names each."""


class RateLimited(ProblemError):
    """429: a rate limit; retry after :attr:`retry_after` seconds."""


class Unavailable(ProblemError):
    """503: a dependency is down or the gateway sheds load; nothing was accepted."""


BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidFields,
    429: RateLimited,
    503: Unavailable,
}


def problem_error(response: httpx.Response) -> ProblemError:
    """The exception of an error answer; a body that is not a problem is kept as its ``detail``."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {"type": "about:blank", "status": response.status_code, "detail": response.text[:500]}
    return BY_STATUS.get(response.status_code, ProblemError)(response.status_code, problem, response.headers)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (the gateway sends delta-seconds); ``None`` when absent or not a number."""
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
