"""The kinds of problem a client branches on, each named by a ``type`` URI (docs/api.md "Problem types"): a client
matches ``type`` instead of parsing ``detail``. The gateway serves each at ``/problems/<name>``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PATH = "/problems/"


class ProblemType(StrEnum):
    """A problem's name; its ``type`` URI is ``/problems/<name>``."""

    INVALID_BODY = "invalid-body"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    SCOPE_MISSING = "scope-missing"
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"
    REQUEST_IN_FLIGHT = "request-in-flight"
    BODY_TOO_LARGE = "body-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    INVALID_FIELDS = "invalid-fields"
    RATE_LIMITED = "rate-limited"
    WEBHOOK_LIMIT_REACHED = "webhook-limit-reached"
    NOT_CANCELLABLE = "not-cancellable"
    NOT_REPLAYABLE = "not-replayable"
    CANCEL_BUSY = "cancel-busy"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"

    @property
    def uri(self) -> str:
        return PATH + self.value


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """What a problem type means, as ``GET /problems/<name>`` and docs/api.md explain it."""

    status: int
    description: str


KINDS: dict[ProblemType, ProblemKind] = {
    ProblemType.INVALID_BODY: ProblemKind(400, "The body is not valid JSON or not UTF-8."),
    ProblemType.UNAUTHENTICATED: ProblemKind(
        401,
        "No valid credential: the API key is unknown, revoked or its application disabled, or the user token is "
        "invalid, expired or revoked.",
    ),
    ProblemType.FORBIDDEN: ProblemKind(
        403,
        "The credential is valid but may not do this: a user token outside its own user, or an application's "
        "key on the operator's routes.",
    ),
    ProblemType.SCOPE_MISSING: ProblemKind(
        403, "The API key lacks the scope this route needs; `required_scope` names it."
    ),
    ProblemType.NOT_FOUND: ProblemKind(404, "It does not exist in the caller's application."),
    ProblemType.CONFLICT: ProblemKind(409, "It conflicts with the current state (a duplicate, a failed precondition)."),
    ProblemType.IDEMPOTENCY_KEY_REUSED: ProblemKind(409, "The Idempotency-Key was used before with another body."),
    ProblemType.REQUEST_IN_FLIGHT: ProblemKind(
        409, "The first request with this Idempotency-Key is still being processed; retry after `Retry-After`."
    ),
    ProblemType.BODY_TOO_LARGE: ProblemKind(413, "The body is larger than the route accepts."),
    ProblemType.UNSUPPORTED_MEDIA_TYPE: ProblemKind(415, "The body is not application/json."),
    ProblemType.INVALID_FIELDS: ProblemKind(422, "Fields failed validation; `errors` names each."),
    ProblemType.WEBHOOK_LIMIT_REACHED: ProblemKind(
        409, "The application has as many webhook endpoints as it may (20): delete one before adding another."
    ),
    ProblemType.NOT_CANCELLABLE: ProblemKind(
        409,
        "The notification can no longer be cancelled: a worker claimed it, or it is final. `notification` is the "
        "notification as it is now.",
    ),
    ProblemType.NOT_REPLAYABLE: ProblemKind(
        409,
        "The dead letter cannot be replayed now: poison (not an envelope), its notification has no row, or "
        "another copy of the notification is under way. `detail` says which; discard it or wait.",
    ),
    ProblemType.CANCEL_BUSY: ProblemKind(
        409, "The cancel could not be decided within 2 s (the notification was being changed); nothing changed, retry."
    ),
    ProblemType.RATE_LIMITED: ProblemKind(429, "A rate limit is reached; retry after `Retry-After` seconds."),
    ProblemType.BUSY: ProblemKind(
        503, "The gateway or a service it needs is shedding load; nothing was accepted, retry after `Retry-After`."
    ),
    ProblemType.UNAVAILABLE: ProblemKind(
        503, "A dependency is down; nothing was accepted, safe to retry with the same Idempotency-Key."
    ),
}

_BY_STATUS = {
    400: ProblemType.INVALID_BODY,
    401: ProblemType.UNAUTHENTICATED,
    403: ProblemType.FORBIDDEN,
    404: ProblemType.NOT_FOUND,
    409: ProblemType.CONFLICT,
    413: ProblemType.BODY_TOO_LARGE,
    415: ProblemType.UNSUPPORTED_MEDIA_TYPE,
    422: ProblemType.INVALID_FIELDS,
    429: ProblemType.RATE_LIMITED,
    503: ProblemType.UNAVAILABLE,
}


def type_uri(status: int, kind: ProblemType | None = None) -> str:
    """The ``type`` of a problem: its kind's URI, else the usual kind of its status, else ``about:blank``."""
    found = kind or _BY_STATUS.get(status)
    return found.uri if found else "about:blank"
