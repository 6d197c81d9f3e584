"""What a webhook event is (docs/api.md "Webhooks"): the event types an endpoint subscribes to, and the delivery
body, serialized once so every attempt of a delivery posts (and signs) the same bytes."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

NOTIFICATION_STATUSES = (
    "queued",
    "scheduled",
    "sending",
    "delivered",
    "retrying",
    "failed",
    "skipped",
    "cancelled",
    "bounced",
)
TEST_EVENT = "webhook.test"
EVENT_TYPES: tuple[str, ...] = (
    *(f"notification.{status}" for status in NOTIFICATION_STATUSES),
    "broadcast.completed",
    "email.unsubscribed",
    "email.complained",
    TEST_EVENT,
)
"""Every event type, in the order docs/api.md lists them."""
ALL_EVENTS = "*"
"""An endpoint's ``events`` of just this subscribes to every type, including ones added later."""


def subscribes(events: Collection[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``events`` wants ``event_type``."""
    return event_type in events or ALL_EVENTS in events


def delivery_body(event_type: str, data: Mapping[str, Any] | orjson.Fragment, at: datetime) -> bytes:
    """The bytes POSTed for one event: ``{"type", "timestamp", "data"}`` with ``timestamp`` = ``at`` in ISO 8601
    UTC (``…Z``); ``data`` may be JSON text already (an ``orjson.Fragment``, as the outbox stores it)."""
    body = {"type": event_type, "timestamp": at.astimezone(UTC), "data": data}
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)
