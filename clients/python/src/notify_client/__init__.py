"""A typed client of the Notify REST API (docs/api.md): :class:`Client` and :class:`AsyncClient`, their models,
typed problem errors, webhook verification, and the ``notify`` CLI (:mod:`notify_client.cli`)."""

from notify_client.client import AsyncClient, Client
from notify_client.errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidFields,
    NotFound,
    NotifyError,
    PayloadTooLarge,
    ProblemError,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from notify_client.retry import NO_RETRIES, RetryPolicy
from notify_client.webhooks import WebhookVerificationError, construct_event, verify

__all__ = [
    "NO_RETRIES",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "InvalidFields",
    "NotFound",
    "NotifyError",
    "PayloadTooLarge",
    "ProblemError",
    "RateLimited",
    "RetryPolicy",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "WebhookVerificationError",
    "construct_event",
    "verify",
]
