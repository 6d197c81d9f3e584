"""The bodies webhook endpoints receive, one schema per kind of event, for the OpenAPI document's ``webhooks``
section (docs/api.md "Webhooks"). Every body is ``{"type", "timestamp", "data"}``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.schemas.broadcasts import BROADCAST_EXAMPLE, Broadcast
from gateway.schemas.notifications import NOTIFICATION_EXAMPLE, NotificationStatus, StatusName

NotificationEventType = Literal[
    "notification.queued",
    "notification.scheduled",
    "notification.sending",
    "notification.delivered",
    "notification.retrying",
    "notification.failed",
    "notification.skipped",
    "notification.cancelled",
    "notification.bounced",
]
"""``common.webhook_events.EVENT_TYPES``' notification types as a Literal; a unit test keeps the two equal."""
TIMESTAMP = Field(description="When the event happened, ISO 8601 in UTC.")


class StatusChange(BaseModel):
    """The change this event reports."""

    status: StatusName
    attempt: int = Field(description="The delivery attempt the change belongs to (0 before the first).")
    detail: dict[str, Any] = Field(description="As in the notification's history: a reason, a provider's reply...")
    sequence: int = Field(
        description="Grows with every change of this notification: deliveries are not ordered, keep the highest."
    )


class NotificationSnapshot(NotificationStatus):
    """The notification as `GET /v1/notifications/{id}` showed it when the change was written, and the change."""

    model_config = ConfigDict(json_schema_extra=None)  # the body's example shows it whole, with `event`

    event: StatusChange


class NotificationEventBody(BaseModel):
    """A notification changed status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "notification.delivered",
                    "timestamp": "2026-11-27T10:15:01.456789Z",
                    "data": {
                        **NOTIFICATION_EXAMPLE,
                        "event": {
                            "status": "delivered",
                            "attempt": 1,
                            "detail": {"smtp_reply": "250 2.0.0 Ok: queued as 4F1C2"},
                            "sequence": 3,
                        },
                    },
                }
            ]
        }
    )

    type: NotificationEventType
    timestamp: datetime = TIMESTAMP
    data: NotificationSnapshot


class BroadcastSummary(Broadcast):
    """The broadcast as `GET /v1/broadcasts/{id}` shows it once its fan-out is done."""

    state: Literal["done"]
    completed_at: datetime


class BroadcastCompletedBody(BaseModel):
    """A topic send reached every subscriber."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "broadcast.completed",
                    "timestamp": BROADCAST_EXAMPLE["completed_at"],
                    "data": BROADCAST_EXAMPLE,
                }
            ]
        }
    )

    type: Literal["broadcast.completed"]
    timestamp: datetime = TIMESTAMP
    data: BroadcastSummary


class Unsubscription(BaseModel):
    """A user opted out of a category's email with the message's one-click unsubscribe link."""

    user_id: uuid.UUID
    category: str = Field(description="The category's key.")
    notification_id: uuid.UUID | None = Field(description="The email whose link was used, when known.")


class EmailUnsubscribedBody(BaseModel):
    """A user unsubscribed from a category's email."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "email.unsubscribed",
                    "timestamp": "2026-11-27T10:30:00.000000Z",
                    "data": {
                        "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
                        "category": "newsletter",
                        "notification_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
                    },
                }
            ]
        }
    )

    type: Literal["email.unsubscribed"]
    timestamp: datetime = TIMESTAMP
    data: Unsubscription


class Complaint(BaseModel):
    """A recipient marked an email as spam (a feedback-loop report); the address is now suppressed for
    non-transactional email."""

    address: str = Field(description="The recipient's email address.")
    user_id: uuid.UUID | None
    notification_id: uuid.UUID | None = Field(description="The email complained about, when the report names it.")
    feedback_type: str = Field(description="The report's Feedback-Type, e.g. `abuse`.")


class EmailComplainedBody(BaseModel):
    """A recipient complained about an email."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "email.complained",
                    "timestamp": "2026-11-27T11:00:00.000000Z",
                    "data": {
                        "address": "ada@example.com",
                        "user_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
                        "notification_id": "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01",
                        "feedback_type": "abuse",
                    },
                }
            ]
        }
    )

    type: Literal["email.complained"]
    timestamp: datetime = TIMESTAMP
    data: Complaint


class TestPing(BaseModel):
    """What `POST /v1/webhooks/{id}/test` sends."""

    webhook_id: uuid.UUID = Field(description="The endpoint's id.")
    message: str


class WebhookTestBody(BaseModel):
    """A test delivery asked for with `POST /v1/webhooks/{id}/test`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "webhook.test",
                    "timestamp": "2026-11-27T10:15:00.000000Z",
                    "data": {
                        "webhook_id": "0192f5d4-5d00-7a10-8b3e-5a6c7d8e9f03",
                        "message": "A test delivery, sent by POST /v1/webhooks/{id}/test.",
                    },
                }
            ]
        }
    )

    type: Literal["webhook.test"]
    timestamp: datetime = TIMESTAMP
    data: TestPing
