"""Bodies of the notification routes."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import JsonDict

from common.local_time import CLOCK_PATTERN
from gateway.schemas.text import storable_map
from gateway.schemas.topics import TopicKey

ChannelName = Literal["email", "push"]
"""``common.channels.Channel``'s values as a Literal, which keeps the OpenAPI document as it is (pydantic would
publish the enum as a schema of its own); a unit test keeps the two equal."""
Priority = Literal["low", "normal", "high"]
StatusName = Literal[
    "queued", "sending", "retrying", "delivered", "failed", "skipped", "scheduled", "cancelled", "bounced"
]
SkipReason = Literal["channel_disabled", "category_opt_out", "no_device", "suppressed", "quiet_hours_expired"]


def _text_only(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string with an offset, e.g. 2026-11-27T10:15:00Z")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_text_only)]
"""A date-time with an offset, given as text (not a Unix timestamp)."""


class LocalSendAt(BaseModel):
    """A time of day in each recipient's own timezone (their preferences' ``timezone``; UTC when unset)."""

    model_config = ConfigDict(extra="forbid")

    local_time: str = Field(pattern=CLOCK_PATTERN, description="`HH:MM` on a 24-hour clock, in the recipient's zone.")
    date: dt.date | None = Field(
        default=None, description="The recipient's calendar day; without it, the next time `local_time` comes."
    )


SendAt = Annotated[Rfc3339 | LocalSendAt, Field(union_mode="left_to_right")]
"""When to send: an instant, or a local time of each recipient (docs/api.md "Scheduling")."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$"


class NotificationContent(BaseModel):
    """What a notification says and how: the fields a single send and a batch share."""

    channel: ChannelName
    template: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN, description="The template's slug.")
    locale: str | None = Field(
        default=None,
        max_length=35,
        pattern=LOCALE_PATTERN,
        description="The locale to render; defaults to the user's, then the template's fallback chain.",
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="What the template sees besides `user`.")
    priority: Priority = "normal"
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16, description="At most 16 string values.")
    expires_at: Rfc3339 | None = Field(
        default=None, description="RFC 3339; the notification is not delivered after this time."
    )
    send_at: SendAt | None = Field(
        default=None,
        description=(
            "When to send: an RFC 3339 instant at most 90 days ahead (up to 5 s in the past sends at once), or "
            '`{"local_time": "09:00", "date"?: "2027-01-15"}` in each recipient\'s timezone. Absent: now.'
        ),
    )

    @field_validator("metadata")
    @classmethod
    def _storable(cls, metadata: dict[str, str]) -> dict[str, str]:
        return storable_map(metadata)


class SendRequest(NotificationContent):
    """A notification to render and deliver to one user."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
                    "channel": "email",
                    "template": "welcome",
                    "locale": "en",
                    "variables": {"name": "Ada", "link": "https://example.com"},
                    "priority": "normal",
                    "metadata": {"campaign": "onboarding"},
                }
            ]
        },
    )

    user_id: uuid.UUID = Field(description="The recipient user's id.")


class TopicTarget(BaseModel):
    """The recipients of a topic send: the topic's subscribers when the fan-out reads them."""

    model_config = ConfigDict(extra="forbid")

    topic: TopicKey


class TopicSendRequest(NotificationContent):
    """A notification to render and deliver to each subscriber of a topic (a broadcast)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": {"topic": "release-notes"},
                    "channel": "email",
                    "template": "release",
                    "variables": {"version": "2.4"},
                }
            ]
        },
    )

    to: TopicTarget = Field(description="Instead of `user_id`: every subscriber of the topic.")


class BroadcastAccepted(BaseModel):
    """An accepted topic send: its fan-out runs in the background."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "broadcast_id": "0192f5d4-aa00-7d10-8b3e-5a6c7d8e9f02",
                    "status": "fanning_out",
                    "status_url": "/v1/broadcasts/0192f5d4-aa00-7d10-8b3e-5a6c7d8e9f02",
                }
            ]
        }
    )

    broadcast_id: uuid.UUID
    status: Literal["fanning_out", "scheduled"] = Field(
        description="`scheduled` with `send_at`: each subscriber's notification waits for its time."
    )
    status_url: str


def content_send(content: NotificationContent, user_id: uuid.UUID, variables: dict[str, Any]) -> SendRequest:
    """The single send of ``content`` to ``user_id`` with ``variables`` (all validated already, so not validated
    again): what a batch or a topic send makes for each recipient."""
    fields = {name: getattr(content, name) for name in NotificationContent.model_fields}
    fields["variables"] = variables
    return SendRequest.model_construct(user_id=user_id, **fields)


MAX_BATCH_RECIPIENTS = 1000


class BatchRecipient(BaseModel):
    """One recipient of a batch, with the variables that are its own."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="The recipient user's id.")
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Merged over the batch's `variables`, one level deep: a key here replaces the batch's key.",
    )


class BatchRequest(NotificationContent):
    """One notification rendered and delivered to each of up to 1,000 users."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "email",
                    "template": "welcome",
                    "variables": {"link": "https://example.com"},
                    "metadata": {"campaign": "onboarding"},
                    "recipients": [
                        {"user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10", "variables": {"name": "Ada"}},
                        {"user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a11"},
                    ],
                }
            ]
        },
    )

    recipients: list[BatchRecipient] = Field(min_length=1, max_length=MAX_BATCH_RECIPIENTS)


BatchItemStatus = Literal["queued", "scheduled", "skipped", "rejected"]
RejectReason = Literal["user_not_found", "duplicate", "rate_limited"]


class BatchItem(BaseModel):
    """What became of one recipient of a batch."""

    user_id: uuid.UUID
    notification_id: uuid.UUID | None = Field(description="Null when the recipient was rejected.")
    status: BatchItemStatus
    reason: SkipReason | RejectReason | None = Field(
        description="Why it was skipped or rejected; null when queued or scheduled."
    )


class BatchResponse(BaseModel):
    """What became of each recipient of an accepted batch, in request order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f00",
                    "items": [
                        {
                            "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
                            "notification_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
                            "status": "queued",
                            "reason": None,
                        },
                        {
                            "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a11",
                            "notification_id": None,
                            "status": "rejected",
                            "reason": "user_not_found",
                        },
                    ],
                }
            ]
        }
    )

    batch_id: uuid.UUID = Field(description="Lists the batch's notifications: `GET /v1/notifications?batch_id=`.")
    items: list[BatchItem]


class SendResponse(BaseModel):
    """What became of an accepted send."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "notification_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
                    "status": "queued",
                    "status_url": "/v1/notifications/0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
                    "reason": None,
                }
            ]
        }
    )

    notification_id: uuid.UUID
    status: Literal["queued", "scheduled", "skipped"]
    status_url: str
    reason: SkipReason | None = Field(description="Why it was skipped; null when queued or scheduled.")


NOTIFICATION_EXAMPLE: JsonDict = {
    "notification_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
    "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
    "channel": "email",
    "template": "welcome",
    "template_version": 3,
    "locale": "en",
    "priority": "normal",
    "status": "delivered",
    "reason": None,
    "attempts": 1,
    "last_error": None,
    "metadata": {"campaign": "onboarding"},
    "expires_at": None,
    "created_at": "2026-11-27T10:15:00.123456Z",
    "updated_at": "2026-11-27T10:15:01.456789Z",
    "delivered_at": "2026-11-27T10:15:01.456789Z",
    "batch_id": None,
    "send_at": None,
    "broadcast_id": None,
}
"""A notification as `GET /v1/notifications/{id}` shows it (the webhook events' examples build on it)."""


class NotificationStatus(BaseModel):
    """Where a notification is now."""

    model_config = ConfigDict(json_schema_extra={"examples": [NOTIFICATION_EXAMPLE]})

    notification_id: uuid.UUID
    user_id: uuid.UUID
    channel: ChannelName
    template: str
    template_version: int | None
    locale: str | None
    priority: Priority
    status: StatusName
    reason: str | None = Field(description="Why it was skipped, failed or cancelled, machine-readable.")
    attempts: int
    last_error: str | None
    metadata: dict[str, str]
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    batch_id: uuid.UUID | None = Field(description="The batch send that created it; null for a single send.")
    send_at: datetime | None = Field(description="When it is (or was) due, if it was scheduled; else null.")
    broadcast_id: uuid.UUID | None = Field(description="The topic send that created it; null for other sends.")


class NotificationListItem(NotificationStatus):
    """A notification as a listing shows it: its status and the request that sent it."""

    request_id: str | None = Field(description="The `X-Request-ID` of the send that created it.")


class NotificationPage(BaseModel):
    """One page of notifications, newest first."""

    items: list[NotificationListItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class NotificationEvent(BaseModel):
    """One step of a notification's history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-11-27T10:15:01.456789Z",
                    "status": "delivered",
                    "attempt": 1,
                    "detail": {"smtp_reply": "250 2.0.0 Ok: queued as 4F1C2"},
                }
            ]
        }
    )

    at: datetime
    status: StatusName
    attempt: int
    detail: dict[str, Any]


class NotificationEvents(BaseModel):
    """A notification's history, oldest first."""

    items: list[NotificationEvent]


class RenderedContent(BaseModel):
    """What a notification said, as rendered when it was sent, while its content is kept
    (`NOTIFICATIONS_CONTENT_DAYS` after a final status); every part null once erased or never rendered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "notification_id": "0192f5d4-1c2b-7e3a-9f10-2b3c4d5e6f70",
                    "channel": "email",
                    "kept": True,
                    "subject": "Welcome, Ada",
                    "title": None,
                    "body": "Hello Ada, start here: https://example.com/start",
                    "html_body": '<p>Hello Ada, <a href="https://example.com/start">start here</a></p>',
                }
            ]
        }
    )

    notification_id: uuid.UUID
    channel: ChannelName
    kept: bool = Field(description="False once the content was erased (or for a notification never rendered).")
    subject: str | None = Field(description="Email: the subject.")
    title: str | None = Field(description="Push: the title.")
    body: str | None = Field(description="The text body (email) or the push body.")
    html_body: str | None = Field(description="Email: the HTML body, when the template has one.")
