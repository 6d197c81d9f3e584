"""Status rows written straight into the notifications database, as the send path or a worker would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from common.applications import DEFAULT_APPLICATION_ID
from common.ids import new_notification_id
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
    store: NotificationStore,
    *,
    user_id: uuid.UUID | None = None,
    age: timedelta = timedelta(0),
    application_id: uuid.UUID = DEFAULT_APPLICATION_ID,
    channel: str = "email",
    template_slug: str = "welcome",
    request_id: str = "req-reconcile",
    metadata: dict[str, str] | None = None,
) -> tuple[uuid.UUID, pb.MessageEnvelope]:
    """A ``queued`` row of ``application_id`` with its envelope and no ``published_at``, created ``age`` ago
    (metadata ``{"campaign": "test"}`` unless given)."""
    notification_id = new_notification_id()
    user_id = user_id or uuid.uuid4()
    envelope = envelope_for(notification_id, user_id)
    await store.create(
        NewNotification(
            id=notification_id,
            application_id=application_id,
            channel=channel,
            user_id=user_id,
            template_slug=template_slug,
            template_version=1,
            template_locale="en",
            priority="normal",
            status="queued",
            reason=None,
            request_id=request_id,
            metadata={"campaign": "test"} if metadata is None else metadata,
            envelope=envelope.SerializeToString(),
            expires_at=None,
            created_at=datetime.now(UTC) - age,
            email_address=None,
        )
    )
    return notification_id, envelope


async def deliver(store: NotificationStore, notification_id: uuid.UUID) -> None:
    """What a worker records for a delivery: ``sending`` then ``delivered``, with events."""
    async with store.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "UPDATE notification_statuses SET status = 'delivered', attempts = 1, updated_at = now(), "
            "delivered_at = now(), published_at = now() WHERE id = $1",
            notification_id,
        )
        await connection.executemany(
            "INSERT INTO notification_events (notification_id, status, attempt, detail) VALUES ($1, $2, 1, $3)",
            [(notification_id, "sending", {}), (notification_id, "delivered", {"smtp": "250 ok"})],
        )
