"""The webhook event types are one list: what an endpoint may subscribe to, what the OpenAPI document's
``webhooks`` section describes, and the notification types its schema spells; and the delivery body's format."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import get_args

import orjson

from common.webhook_events import EVENT_TYPES, NOTIFICATION_STATUSES, delivery_body
from gateway.app import create_app
from gateway.schemas.notifications import StatusName
from gateway.schemas.webhook_events import (
    BroadcastCompletedBody,
    EmailComplainedBody,
    EmailUnsubscribedBody,
    NotificationEventBody,
    NotificationEventType,
    WebhookTestBody,
)
from gateway.settings import GatewaySettings


def test_the_openapi_document_describes_every_event_type_and_no_other() -> None:
    webhooks = create_app(GatewaySettings()).openapi()["webhooks"]
    assert list(webhooks) == list(EVENT_TYPES)
    for event_type, operations in webhooks.items():
        headers = {parameter["name"] for parameter in operations["post"]["parameters"] if parameter["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}, event_type


def test_the_notification_event_types_are_one_per_status() -> None:
    assert get_args(NotificationEventType) == tuple(f"notification.{status}" for status in NOTIFICATION_STATUSES)
    assert set(NOTIFICATION_STATUSES) == set(get_args(StatusName))


def test_a_delivery_body_is_type_timestamp_in_utc_and_data() -> None:
    at = datetime(2026, 11, 27, 11, 15, 1, 456789, tzinfo=timezone(timedelta(hours=1)))
    body = delivery_body("webhook.test", {"message": "hi"}, at)
    assert body == b'{"type":"webhook.test","timestamp":"2026-11-27T10:15:01.456789Z","data":{"message":"hi"}}'
    assert orjson.loads(body)["data"] == {"message": "hi"}


def test_every_documented_example_body_is_valid() -> None:
    models = (
        NotificationEventBody,
        BroadcastCompletedBody,
        EmailUnsubscribedBody,
        EmailComplainedBody,
        WebhookTestBody,
    )
    for model in models:
        examples = (model.model_config.get("json_schema_extra") or {}).get("examples", [])  # type: ignore[union-attr]
        assert examples, model.__name__
        for example in examples:
            model.model_validate(example)
