"""inbound running in-process on free ports against the notifications test database, an application of its
own (so its webhook endpoint sees no other test's events), and notifications sent to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from common.envelope import encode_envelope
from common.ids import new_notification_id
from delivery.return_path import ReturnPath
from devstack.infra import Infra
from inbound.service import Inbound
from inbound.settings import InboundSettings
from notification.v1 import notification_pb2 as pb
from tests.integration.delivery.fixtures import db

SIGNING_KEY = "the-inbound-tests-bounce-signing-key"
DOMAIN = "bounces.test.example"
MESSAGE_ID_DOMAIN = "notifications.local"

__all__ = ["db"]  # the delivery tests' connection fixture, shared


@dataclass
class Mailer:
    """Plays the gateway and the email worker: an application with notifications delivered to addresses."""

    db: asyncpg.Connection
    application_id: uuid.UUID
    return_path: ReturnPath

    async def delivered(self, address: str, status: str = "delivered") -> str:
        """A notification of the application to ``address`` in ``status`` (delivered: with its Message-ID)."""
        notification_id = str(new_notification_id())
        envelope = pb.MessageEnvelope(
            notification_id=notification_id,
            channel=pb.CHANNEL_EMAIL,
            user_id=str(uuid.uuid4()),
            email_recipient=pb.EmailRecipient(address=address, name="Ada"),
            email=pb.EmailContent(subject="Welcome", text_body="Hello"),
        )
        await self.db.execute(
            """INSERT INTO notification_statuses
               (id, channel, user_id, template_slug, status, attempts, envelope, published_at, provider_message_id,
                application_id, delivered_at)
               VALUES ($1, 'email', $2, 'welcome', $3, 1, $4, now(), $5, $6,
                       CASE WHEN $3 = 'delivered' THEN now() END)""",
            uuid.UUID(notification_id),
            uuid.UUID(envelope.user_id),
            status,
            encode_envelope(envelope),
            self.message_id(notification_id),
            self.application_id,
        )
        return notification_id

    @staticmethod
    def message_id(notification_id: str) -> str:
        """The Message-ID the email worker gives a notification's email."""
        return f"<{notification_id}@{MESSAGE_ID_DOMAIN}>"

    async def subscribe(self, *events: str) -> None:
        """An enabled webhook endpoint of the application for ``events``."""
        await self.db.execute(
            """INSERT INTO webhook_endpoints (id, application_id, url, events, secret)
               VALUES ($1, $2, 'https://hooks.example.com/inbound', $3, 'whsec_test')""",
            new_notification_id(),
            self.application_id,
            list(events),
        )

    async def row(self, notification_id: str) -> dict[str, Any]:
        """The notification's row."""
        record = await self.db.fetchrow("SELECT * FROM notification_statuses WHERE id = $1", uuid.UUID(notification_id))
        assert record is not None
        return dict(record)

    async def events(self, notification_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Its history: (status, detail), oldest first."""
        records = await self.db.fetch(
            "SELECT status, detail FROM notification_events WHERE notification_id = $1 ORDER BY id",
            uuid.UUID(notification_id),
        )
        return [(r["status"], json.loads(r["detail"])) for r in records]

    async def suppression(self, address: str) -> str | None:
        """The reason ``address`` is suppressed in the application, or None."""
        reason: str | None = await self.db.fetchval(
            "SELECT reason FROM email_suppressions WHERE application_id = $1 AND address = $2",
            self.application_id,
            address.lower(),
        )
        return reason

    async def outbox(self, notification_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The webhook events written about the notification: (type, data)."""
        records = await self.db.fetch(
            "SELECT event_type, data FROM webhook_outbox WHERE notification_id = $1 ORDER BY id",
            uuid.UUID(notification_id),
        )
        return [(r["event_type"], json.loads(r["data"])) for r in records]


@pytest.fixture
async def mailer(db: asyncpg.Connection) -> AsyncIterator[Mailer]:
    """A new application (deleted afterwards, with its rows) and the return path inbound checks."""
    application_id = new_notification_id()
    await db.execute("INSERT INTO applications (id, name) VALUES ($1, $2)", application_id, f"inbound-{application_id}")
    yield Mailer(db, application_id, ReturnPath.of(DOMAIN, SIGNING_KEY))
    for table in ("webhook_outbox", "notification_statuses", "email_suppressions"):
        await db.execute(f"DELETE FROM {table} WHERE application_id = $1", application_id)  # noqa: S608
    await db.execute("DELETE FROM applications WHERE id = $1", application_id)


@pytest.fixture
async def inbound(infra: Infra) -> AsyncIterator[Inbound]:
    """inbound serving SMTP and HTTP on free ports."""
    settings = InboundSettings(
        database_url=infra.database("NOTIFICATIONS_DATABASE_URL"),
        port=0,
        smtp_port=0,
        bounce_domain=DOMAIN,
        bounce_signing_key=SIGNING_KEY,
    )
    running = Inbound(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
