"""Status rows written straight into the notifications database, as the send path or a worker would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from common.ids import new_notification_id
from common.notification_tables import notification_events, notification_statuses
from gateway.store import NewNotification, NotificationStore
from notification.v1 import notification_pb2 as pb


def envelope_for(notification_id: uuid.UUID, user_id: uuid.UUID) -> pb.MessageEnvelope:
    return pb.MessageEnvelope(
        notification_id=str(notification_id),
        correlation_id="req-reconcile",
        channel=pb.CHANNEL_EMAIL,
        priority=pb.PRIORITY_NORMAL,
        user_id=str(user_id),
        email_recipient=pb.EmailRecipient(address="ada@example.com", name="Ada"),
        email=pb.EmailContent(subject="Hi", text_body="Hello"),
        template=pb.TemplateRef(slug="welcome", version=1, locale="en"),
    )


async def insert_queued(
    store: NotificationStore, *, user_id: uuid.UUID | None = None, age: timedelta = timedelta(0)
) -> tuple[uuid.UUID, pb.MessageEnvelope]:
    """A ``queued`` row with its envelope and no ``published_at``, created ``age`` ago."""
    notification_id = new_notification_id()
    user_id = user_id or uuid.uuid4()
    envelope = envelope_for(notification_id, user_id)
    await store.create(
        NewNotification(
            id=notification_id,
            channel="email",
            user_id=user_id,
            template_slug="welcome",
            template_version=1,
            template_locale="en",
            priority="normal",
            status="queued",
            reason=None,
            request_id="req-reconcile",
            metadata={"campaign": "test"},
            envelope=envelope.SerializeToString(),
            expires_at=None,
            created_at=datetime.now(UTC) - age,
            email_address=None,
        )
    )
    return notification_id, envelope


async def deliver(store: NotificationStore, notification_id: uuid.UUID) -> None:
    """What a worker records for a delivery: ``sending`` then ``delivered``, with events."""
    now = datetime.now(UTC)
    async with store.engine.begin() as connection:
        await connection.execute(
            update(notification_statuses)
            .where(notification_statuses.c.id == notification_id)
            .values(status="delivered", attempts=1, updated_at=now, delivered_at=now, published_at=now)
        )
        await connection.execute(
            insert(notification_events),
            [
                {"notification_id": notification_id, "status": "sending", "attempt": 1, "detail": {}},
                {"notification_id": notification_id, "status": "delivered", "attempt": 1, "detail": {"smtp": "250 ok"}},
            ],
        )
