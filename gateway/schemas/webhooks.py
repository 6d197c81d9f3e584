"""Bodies of the webhook endpoint routes (docs/api.md "Webhooks"); the bodies the endpoints receive are in
``gateway.schemas.webhook_events``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from common.webhook_events import ALL_EVENTS, EVENT_TYPES
from common.webhook_urls import MAX_URL_CHARS
from gateway.schemas.notifications import Rfc3339
from gateway.schemas.text import is_unicode

KNOWN_EVENTS = ", ".join(EVENT_TYPES)
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed"]


def _events(names: list[str]) -> list[str]:
    """The event types named, each once, in the order given; ``["*"]`` when ``*`` is among them. An unknown one is
    named in the error."""
    chosen: list[str] = []
    for name in names:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise ValueError(f"unknown event type {name!r}; known: {KNOWN_EVENTS}, or * for all")
        if name not in chosen:
            chosen.append(name)
    return [ALL_EVENTS] if ALL_EVENTS in chosen else chosen


def _text(text: str) -> str:
    if "\x00" in text or not is_unicode(text):
        raise ValueError("must be valid Unicode text without NUL characters")
    return text


Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        description='Where deliveries are POSTed: `https://` to a public address (docs/api.md "Webhooks", URL rules).',
    ),
    AfterValidator(_text),
]
Events = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=len(EVENT_TYPES) + 1,
        description=f"The event types to receive: any of {KNOWN_EVENTS}; or `*` for every type.",
    ),
    AfterValidator(_events),
]
Description = Annotated[str, Field(max_length=500), AfterValidator(_text)]


class WebhookCreate(BaseModel):
    """A new webhook endpoint."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/notifications",
                    "events": ["notification.delivered", "notification.failed"],
                    "description": "order status page",
                }
            ]
        },
    )

    url: Url
    events: Events
    description: Description | None = None


class WebhookUpdate(BaseModel):
    """The fields to change; a field left out keeps its value. `enabled: true` also clears `failing_since` and
    `disabled_reason`; `description: null` removes the description."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": True}]})

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None

    @field_validator("url", "events", "enabled")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class Webhook(BaseModel):
    """A webhook endpoint; its secret is shown only when it is created or rotated."""

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    failing_since: datetime | None = Field(
        description="When the current run of failed attempts began; null after a success."
    )
    disabled_reason: str | None = Field(
        description="Why the system disabled the endpoint (3 days of failures); null when enabled or disabled by you."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret before the last rotation still signs deliveries too."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    """A webhook endpoint just made, with its signing secret: store it now."""

    secret: str = Field(description="`whsec_` + base64 of 32 random bytes: verify each delivery's signature with it.")


class WebhookPage(BaseModel):
    """One page of webhook endpoints, oldest first."""

    items: list[Webhook]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SecretRotated(BaseModel):
    """The endpoint's new secret; the old one keeps signing deliveries (next to the new one) until
    `previous_secret_expires_at`."""

    secret: str = Field(description="The new secret, shown only here.")
    previous_secret_expires_at: datetime


class DeliverySummary(BaseModel):
    """One event's delivery to one endpoint."""

    id: uuid.UUID = Field(description="The `webhook-id` header of every attempt, manual retries included.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None = Field(description="The HTTP status of the last attempt; null when none answered.")
    response_ms: int | None = Field(description="How long the last attempt took.")
    next_attempt_at: datetime | None = Field(description="When it is sent (again); null once final.")
    created_at: datetime


class DeliveryPage(BaseModel):
    """One page of an endpoint's deliveries, newest first."""

    items: list[DeliverySummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class Delivery(DeliverySummary):
    """One delivery with what was posted and what went wrong last."""

    endpoint_id: uuid.UUID
    event_at: datetime = Field(description="When the event happened: what `replay`'s `since` compares.")
    updated_at: datetime
    last_error: str | None
    body: str = Field(description="The exact body posted on every attempt (what the signature covers).")


class ReplayRequest(BaseModel):
    """Which past events to send again."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"since": "2026-11-27T10:00:00Z"}]})

    since: Rfc3339 = Field(description="Events that happened at or after this time (deliveries are kept 30 days).")


class Replayed(BaseModel):
    """How many deliveries went back to `pending`."""

    replayed: int
