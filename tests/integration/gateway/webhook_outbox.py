"""What the webhook outbox tests share: an application of their own, its endpoints written as the webhook routes
write them, new notifications, and the outbox as an endpoint's deliveries will be made from it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from common.ids import new_notification_id
from common.webhook_signature import new_secret
from gateway.store import NewNotification


async def new_application(db: asyncpg.Connection) -> uuid.UUID:
    """A fresh application: no endpoint of another test's subscribes for it."""
    application_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO applications (id, name) VALUES ($1, $2)", application_id, f"webhooks-{application_id.hex[:8]}"
    )
    return application_id


async def drop_application(db: asyncpg.Connection, application_id: uuid.UUID) -> None:
    """Delete the application with its notifications (queued rows no broker holds would be the reconciler's
    to publish), outbox rows, suppressions and endpoints."""
    await db.execute("DELETE FROM notification_statuses WHERE application_id = $1", application_id)
    await db.execute("DELETE FROM webhook_outbox WHERE application_id = $1", application_id)
    await db.execute("DELETE FROM email_suppressions WHERE application_id = $1", application_id)
    await db.execute("DELETE FROM applications WHERE id = $1", application_id)


async def subscribe(
    db: asyncpg.Connection, application_id: uuid.UUID, events: list[str], *, enabled: bool = True
) -> None:
    """An endpoint of ``application_id`` subscribed to ``events``."""
    await db.execute(
        "INSERT INTO webhook_endpoints (id, application_id, url, events, enabled, secret)"
        " VALUES ($1, $2, 'http://127.0.0.1:9098/hooks', $3, $4, $5)",
        new_notification_id(),
        application_id,
        events,
        enabled,
        new_secret(),
    )


def notification(application_id: uuid.UUID, **changes: Any) -> NewNotification:
    """A ``queued`` email notification of ``application_id`` (``changes`` override fields)."""
    values: dict[str, Any] = {
        "id": new_notification_id(),
        "application_id": application_id,
        "channel": "email",
        "user_id": uuid.uuid4(),
        "template_slug": "welcome",
        "template_version": 1,
        "template_locale": "en",
        "priority": "normal",
        "status": "queued",
        "reason": None,
        "request_id": "req-outbox",
        "metadata": {"campaign": "outbox"},
        "envelope": None,
        "expires_at": None,
        "created_at": datetime.now(UTC),
        "email_address": f"outbox-{uuid.uuid4().hex[:8]}@example.com",
    }
    values.update(changes)
    return NewNotification(**values)


async def outbox(db: asyncpg.Connection, notification_id: uuid.UUID) -> list[dict[str, Any]]:
    """The outbox rows of one notification, oldest first: ``event_type``, ``application_id`` and ``data``."""
    rows = await db.fetch(
        "SELECT event_type, application_id, data FROM webhook_outbox WHERE notification_id = $1 ORDER BY id",
        notification_id,
    )
    return [{**row, "data": json.loads(row["data"])} for row in rows]


async def event_types(db: asyncpg.Connection, notification_id: uuid.UUID) -> list[str]:
    """The types of the outbox rows of one notification, oldest first."""
    rows = await db.fetch(
        "SELECT event_type FROM webhook_outbox WHERE notification_id = $1 ORDER BY id", notification_id
    )
    return [row["event_type"] for row in rows]
