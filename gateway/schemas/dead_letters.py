"""Bodies of ``/v1/dead-letters``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.schemas.notifications import ChannelName, NotificationStatus

MAX_REPLAY = 1000
REASON_PATTERN = r"^[ -~]{1,64}$"
"""A reason as workers and the broker write them: printable ASCII (``smtp_550``, ``broker: rejected``)."""

EXAMPLE: dict[str, Any] = {
    "id": "0193a1f0-5c2e-7d41-9b7a-2f6e0c1d3a55",
    "notification_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
    "channel": "email",
    "reason": "smtp_550",
    "attempts": 1,
    "failed_at": "2026-12-07T09:30:00Z",
}


class DeadLetter(BaseModel):
    """A message a worker gave up on (or could not read), kept until it is replayed or discarded."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    notification_id: uuid.UUID | None = Field(description="Null for poison: a body that is not an envelope.")
    channel: ChannelName | None = Field(description="The work queue it came from and a replay sends it to.")
    reason: str = Field(description="Why it was given up: the notification's failure reason, or `poison`.")
    attempts: int
    failed_at: datetime
    notification: NotificationStatus | None = Field(
        default=None, description="The notification as it is now; absent for poison."
    )


class DeadLetterDetail(DeadLetter):
    """A dead letter with what it carried."""

    detail: str = Field(description="The last error, as the worker wrote it.")
    headers: dict[str, Any] = Field(description="The message's AMQP headers.")
    message_id: str | None = Field(description="The message's AMQP `message_id`.")
    envelope: dict[str, Any] | None = Field(
        description="The body decoded as a `notification.v1.MessageEnvelope` (proto JSON names); null when it "
        "does not parse."
    )
    envelope_error: str | None = Field(description="Why the body is not an envelope; null when it is.")
    body_base64: str = Field(description="The raw body as dead-lettered.")


class DeadLetterPage(BaseModel):
    """One page of dead letters, newest first."""

    items: list[DeadLetter]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class DeadLetterReplayed(BaseModel):
    """What one replay did."""

    id: uuid.UUID
    notification_id: uuid.UUID
    outcome: Literal["replayed", "removed"] = Field(
        description="`replayed`: sent to its work queue again. `removed`: discarded without a send, because "
        "the notification was delivered meanwhile or its user was deleted (`note` says which)."
    )
    note: str


class ReplayFilter(BaseModel):
    """Which dead letters to replay, oldest first; every field narrows, none means all."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"channel": "email", "reason": "smtp_550", "limit": 100}]}
    )

    channel: ChannelName | None = None
    reason: str | None = Field(default=None, max_length=64, pattern=REASON_PATTERN)
    failed_after: AwareDatetime | None = Field(default=None, description="Inclusive.")
    failed_before: AwareDatetime | None = Field(default=None, description="Exclusive.")
    limit: int = Field(default=100, ge=1, le=MAX_REPLAY)


class ReplayCounts(BaseModel):
    """What a replay by filter did."""

    replayed: int = Field(description="Sent to their work queue again.")
    removed: int = Field(description="Discarded without a send: delivered meanwhile, or their user was deleted.")
    kept: int = Field(description="Left in place: poison, or another copy of the notification is under way.")
