"""What FCM said about each device token, classified the way the push worker acts on it:
- ``delivered``: FCM accepted the message for the device;
- ``dead``: UNREGISTERED or SENDER_ID_MISMATCH: the token will never work again, the device is removed;
- ``invalid``: INVALID_ARGUMENT: FCM refused the message itself (usually the payload); the token stays;
- ``transient``: UNAVAILABLE, INTERNAL, QUOTA_EXCEEDED and anything unexpected: worth another try later.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from firebase_admin import exceptions, messaging


class TokenResult(StrEnum):
    """How a send to one device token ended."""

    DELIVERED = "delivered"
    DEAD = "dead"
    INVALID = "invalid"
    TRANSIENT = "transient"


_FCM_CODES: dict[type[Exception], str] = {
    messaging.UnregisteredError: "UNREGISTERED",
    messaging.SenderIdMismatchError: "SENDER_ID_MISMATCH",
    messaging.QuotaExceededError: "QUOTA_EXCEEDED",
    messaging.ThirdPartyAuthError: "THIRD_PARTY_AUTH_ERROR",
}


@dataclass(frozen=True)
class TokenOutcome:
    """One token's result, with FCM's message id or error code and ``Retry-After`` hint."""

    token: str
    result: TokenResult
    message_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    retry_after: float | None = None

    def detail(self) -> dict[str, Any]:
        """The outcome as recorded in the notification's history."""
        fields = {
            "token": self.token,
            "result": self.result.value,
            "message_id": self.message_id,
            "error_code": self.error_code,
            "error": self.error,
            "retry_after": self.retry_after,
        }
        return {name: value for name, value in fields.items() if value is not None}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _result_of(error: exceptions.FirebaseError) -> TokenResult:
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return TokenResult.DEAD
    if isinstance(error, exceptions.InvalidArgumentError):
        return TokenResult.INVALID
    return TokenResult.TRANSIENT


def classify(token: str, response: messaging.SendResponse) -> TokenOutcome:
    """The outcome of the send to ``token``."""
    if response.success:
        return TokenOutcome(token, TokenResult.DELIVERED, message_id=response.message_id)
    error = response.exception
    if not isinstance(error, exceptions.FirebaseError):
        return TokenOutcome(token, TokenResult.TRANSIENT, error_code="UNKNOWN", error=str(error))
    http_response = getattr(error, "http_response", None)
    retry_after = parse_retry_after(http_response.headers.get("Retry-After")) if http_response is not None else None
    return TokenOutcome(
        token,
        _result_of(error),
        error_code=_FCM_CODES.get(type(error), str(error.code)),
        error=str(error),
        retry_after=retry_after,
    )
