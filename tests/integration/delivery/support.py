"""What the delivery tests share: status rows written as the gateway writes them, envelopes published as the
gateway publishes them, an email worker running in-process against the SMTP sink, and reads of the outcome."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from common.amqp.publisher import Publisher, protobuf_message
from common.envelope import encode_envelope
from common.ids import new_notification_id
from delivery.runtime import WorkerRuntime
from email_worker.deliverer import EmailDeliverer, dkim_keyring, relay_route
from email_worker.settings import EmailWorkerSettings
from notification.v1 import notification_pb2 as pb
from tests.support.smtp_sink import RunningSmtpSink

FAST_RETRIES = 0.002
"""Retry-delay scale for tests: the 5 s step waits ~10 ms, the 30 s step ~60 ms."""


def email_envelope(
    address: str = "ada@example.com",
    *,
    subject: str = "Welcome, Ada",
    text: str = "Hello Ada",
    html: str = "<p>Hello <b>Ada</b></p>",
    priority: pb.Priority = pb.PRIORITY_NORMAL,
    expires_in_seconds: float | None = None,
) -> pb.MessageEnvelope:
    """A rendered email envelope with a fresh notification id."""
    notification_id = str(new_notification_id())
    envelope = pb.MessageEnvelope(
        notification_id=notification_id,
        correlation_id=f"req-{notification_id[-12:]}",
        channel=pb.CHANNEL_EMAIL,
        priority=priority,
        user_id=str(uuid.uuid4()),
        email_recipient=pb.EmailRecipient(address=address, name="Ada Lovelace"),
        email=pb.EmailContent(subject=subject, text_body=text, html_body=html),
        template=pb.TemplateRef(slug="welcome", version=1, locale="en"),
    )
    if expires_in_seconds is not None:
        expires = Timestamp()
        expires.FromNanoseconds(int((time.time() + expires_in_seconds) * 1e9))
        envelope.expires_at.CopyFrom(expires)
    return envelope


@dataclass
class Gateway:
    """Plays the gateway's part: the ``queued`` row, then the confirmed publish."""

    db: asyncpg.Connection
    publisher: Publisher

    async def insert_row(self, envelope: pb.MessageEnvelope) -> None:
        """The ``queued`` status row with the envelope bytes and ``published_at``."""
        await self.db.execute(
            """INSERT INTO notification_statuses
               (id, channel, user_id, template_slug, template_version, status, envelope, published_at, request_id,
                application_id)
               VALUES ($1, 'email', $2, $3, $4, 'queued', $5, now(), $6,
                   (SELECT id FROM applications WHERE name = 'default'))""",
            uuid.UUID(envelope.notification_id),
            uuid.UUID(envelope.user_id),
            envelope.template.slug,
            envelope.template.version,
            encode_envelope(envelope),
            envelope.correlation_id,
        )

    async def publish(self, envelope: pb.MessageEnvelope) -> None:
        """Publish ``envelope`` to ``notifications.direct`` as the gateway does."""
        message = protobuf_message(
            envelope, message_id=envelope.notification_id, correlation_id=envelope.correlation_id
        )
        await self.publisher.publish(self.publisher.topology.direct, message, "email")

    async def send(self, envelope: pb.MessageEnvelope) -> pb.MessageEnvelope:
        """Row, then publish."""
        await self.insert_row(envelope)
        await self.publish(envelope)
        return envelope

    async def row(self, notification_id: str) -> dict[str, Any]:
        """The status row as a dict."""
        record = await self.db.fetchrow("SELECT * FROM notification_statuses WHERE id = $1", uuid.UUID(notification_id))
        assert record is not None, f"no row for {notification_id}"
        return dict(record)

    async def events(self, notification_id: str) -> list[tuple[str, int, dict[str, Any]]]:
        """The notification's history: (status, attempt, detail), oldest first."""
        records = await self.db.fetch(
            "SELECT status, attempt, detail FROM notification_events WHERE notification_id = $1 ORDER BY id",
            uuid.UUID(notification_id),
        )
        return [(r["status"], r["attempt"], json.loads(r["detail"])) for r in records]

    async def wait_for_status(self, notification_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the row reaches one of ``statuses``; returns the row."""
        return await eventually(lambda: self.row(notification_id), lambda row: row["status"] in statuses, timeout)


async def eventually(
    read: Callable[[], Awaitable[Any] | Any], check: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    """Poll ``read`` (sync or async) until ``check`` accepts its value; fails the test with the last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = read()
        if inspect.isawaitable(value):
            value = await value
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.02)


def worker_settings(sink: RunningSmtpSink, **overrides: Any) -> EmailWorkerSettings:
    """Email worker settings pointing at ``sink``, with fast retries and a short breaker pause."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.smtp_port,
        "port": 0,
        "retry_delay_scale": FAST_RETRIES,
        "breaker_pause_seconds": 0.5,
        "shutdown_grace_seconds": 5,
    }
    values.update(overrides)
    return EmailWorkerSettings(**values)


@asynccontextmanager
async def running_worker(
    settings: EmailWorkerSettings, deliverer: type[EmailDeliverer] = EmailDeliverer
) -> AsyncIterator[WorkerRuntime]:
    """The email worker's runtime consuming in this process (``deliverer``: the real one, or a subclass that
    changes its timing); stopped (drained) afterwards."""
    route = relay_route(settings)
    keyring = dkim_keyring(settings)
    runtime = WorkerRuntime(settings, deliverer(route, settings, keyring), name="email_worker-test")
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await route.close()
        await keyring.close()
