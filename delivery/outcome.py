"""What a channel's delivery code tells the shared worker runtime: it returns a :class:`Delivered`, or raises
:class:`TransientError` (retry later) or :class:`PermanentError` (give up now). The runtime decides the
retry, the dead letter and the status row from that alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from common.channels import Channel
from delivery.breaker import CircuitBreaker
from notification.v1 import notification_pb2 as pb


@dataclass(frozen=True)
class Delivered:
    """The provider accepted the notification."""

    provider_message_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    """Recorded in the notification's history: an SMTP reply, per-token FCM outcomes."""


class DeliveryError(Exception):
    """A delivery that did not succeed; ``detail`` goes into the notification's history."""

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class TransientError(DeliveryError):
    """Worth retrying: a 4xx SMTP reply, a dropped connection, FCM UNAVAILABLE/INTERNAL/QUOTA_EXCEEDED.

    ``retry_after`` (seconds) is the provider's hint, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, detail: dict[str, Any] | None = None):
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying cannot help: a 5xx SMTP reply, FCM INVALID_ARGUMENT, no live device left.

    ``reason`` is the short machine-readable cause stored on the status row (e.g. ``smtp_550``).
    ``suppress_address``, when given, is an email address that hard-bounced: the runtime adds it to
    ``email_suppressions`` together with the failed status, so the gateway skips it from then on.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        detail: dict[str, Any] | None = None,
        suppress_address: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason
        self.suppress_address = suppress_address


@runtime_checkable
class HasBreakers(Protocol):
    """A deliverer with circuit breakers of its own (one per relay), which ``GET /v1/stats`` shows."""

    def breakers(self) -> Sequence[CircuitBreaker]: ...


class Deliverer(Protocol):
    """A channel's delivery code: one provider, its connection(s), its error classification."""

    channel: Channel
    """The queue it consumes and the label of its metrics."""

    async def deliver(self, envelope: pb.MessageEnvelope, attempt: int = 1) -> Delivered:
        """Send ``envelope`` as its ``attempt``-th attempt (a channel with several providers picks one by it);
        raise :class:`TransientError` or :class:`PermanentError` when it did not go."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
