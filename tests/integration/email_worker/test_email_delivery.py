"""The email worker end to end in-process: real RabbitMQ, Postgres and the SMTP sink over real SMTP."""

from __future__ import annotations

import uuid

from common.amqp.topology import FAILED_QUEUE
from common.settings import DEV_BOUNCE_SIGNING_KEY
from delivery.return_path import ReturnPath
from devstack.infra import AmqpSession
from notification.v1 import notification_pb2 as pb
from tests.integration.delivery.support import Gateway, email_envelope, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink


async def test_an_email_is_delivered_with_its_content_headers_and_history(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("ada@example.com", priority=pb.PRIORITY_HIGH)
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")

    [mail] = await sink.messages("ada@example.com")
    assert mail["subject"] == "Welcome, Ada"
    assert mail["text"].strip() == "Hello Ada"
    assert mail["html"].strip() == "<p>Hello <b>Ada</b></p>"
    assert mail["message_id"] == f"<{envelope.notification_id}@notifications.local>"
    assert mail["headers"]["X-Correlation-ID"] == envelope.correlation_id
    assert mail["headers"]["Importance"] == "high"
    assert mail["headers"]["X-Priority"].startswith("1")
    assert mail["headers"]["To"] == "Ada Lovelace <ada@example.com>"
    assert mail["headers"]["From"] == "Notifications <notifications@example.com>"
    return_path = ReturnPath.of("bounces.example.com", DEV_BOUNCE_SIGNING_KEY)
    assert mail["mail_from"] == return_path.address(envelope.notification_id)
    assert mail["authenticated_as"] is None
    assert "multipart/alternative" in mail["headers"]["Content-Type"]

    assert row["attempts"] == 1
    assert row["delivered_at"] is not None
    assert row["provider_message_id"] == mail["message_id"]
    events = await gateway.events(envelope.notification_id)
    assert [(status, attempt) for status, attempt, _ in events] == [("sending", 1), ("delivered", 1)]
    assert events[1][2]["smtp_code"] == 250
    assert "queued as" in events[1][2]["smtp_reply"]


async def test_a_text_only_email_is_not_multipart(gateway: Gateway, sink: RunningSmtpSink) -> None:
    envelope = email_envelope("grace@example.com", html="")
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        await gateway.wait_for_status(envelope.notification_id, "delivered")
    [mail] = await sink.messages("grace@example.com")
    assert mail["headers"]["Content-Type"].startswith("text/plain")
    assert mail["html"] is None
    assert mail["headers"]["Importance"] == "normal"


async def test_a_transient_refusal_is_retried_until_the_email_arrives(gateway: Gateway, sink: RunningSmtpSink) -> None:
    await sink.fail("flaky@example.com", 451, times=2)
    envelope = email_envelope("flaky@example.com")
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")

    assert len(await sink.messages("flaky@example.com")) == 1
    assert row["attempts"] == 3
    assert row["last_error"].startswith("451")
    events = await gateway.events(envelope.notification_id)
    assert [(status, attempt) for status, attempt, _ in events] == [
        ("sending", 1),
        ("retrying", 1),
        ("sending", 2),
        ("retrying", 2),
        ("sending", 3),
        ("delivered", 3),
    ]
    assert events[1][2]["smtp_code"] == 451
    assert events[1][2]["retry_in_seconds"] > 0


async def test_a_permanent_refusal_fails_dead_letters_and_suppresses_the_address(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    address = f"bounce-550+{uuid.uuid4().hex[:8]}@example.com"  # the sink's convention, unique per run
    envelope = email_envelope(address)
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")

    assert row["reason"] == "smtp_550"
    assert row["attempts"] == 1
    assert "mailbox unavailable" in row["last_error"]
    dead = await amqp.get(FAILED_QUEUE)
    assert pb.MessageEnvelope.FromString(dead.body) == envelope
    assert dead.headers["x-failure-reason"] == "smtp_550"
    assert dead.headers["x-attempts"] == 1
    assert dead.headers["x-original-routing-key"] == "email"
    assert dead.message_id == envelope.notification_id
    await dead.ack()
    suppressed = await gateway.db.fetchrow(
        "SELECT reason, notification_id::text AS id FROM email_suppressions WHERE address = $1",
        address,
    )
    assert suppressed is not None
    assert (suppressed["reason"], suppressed["id"]) == ("hard_bounce", envelope.notification_id)
    assert await sink.messages() == []


async def test_a_refusal_that_never_clears_exhausts_the_attempts(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    envelope = email_envelope("bounce-421@example.com")
    async with running_worker(worker_settings(sink, max_attempts=3)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")

    assert (row["reason"], row["attempts"]) == ("retries_exhausted", 3)
    dead = await amqp.get(FAILED_QUEUE)
    assert dead.headers["x-failure-reason"] == "retries_exhausted"
    assert dead.headers["x-attempts"] == 3
    await dead.ack()
    statuses = [status for status, _, _ in await gateway.events(envelope.notification_id)]
    assert statuses == ["sending", "retrying", "sending", "retrying", "sending", "failed"]
    suppressed = await gateway.db.fetchval(
        "SELECT count(*) FROM email_suppressions WHERE address = 'bounce-421@example.com'"
    )
    assert suppressed == 0


async def test_smtp_auth_is_used_when_credentials_are_set(gateway: Gateway, sink: RunningSmtpSink) -> None:
    envelope = email_envelope("authenticated@example.com")
    async with running_worker(worker_settings(sink, smtp_username="mailer", smtp_password="secret")):
        await gateway.send(envelope)
        await gateway.wait_for_status(envelope.notification_id, "delivered")
    [mail] = await sink.messages("authenticated@example.com")
    assert mail["authenticated_as"] == "mailer"


async def test_an_unreachable_smtp_server_is_transient(gateway: Gateway, sink: RunningSmtpSink) -> None:
    envelope = email_envelope("unreachable@example.com")
    settings = worker_settings(sink, smtp_port=1, max_attempts=2)  # nothing listens on port 1
    async with running_worker(settings):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")
    assert (row["reason"], row["attempts"]) == ("retries_exhausted", 2)
    assert "cannot connect" in row["last_error"]


async def test_a_relay_that_fails_moves_the_next_attempt_to_the_next_relay(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    dead, alive = "127.0.0.1:1", f"127.0.0.1:{sink.smtp_port}"  # nothing listens on port 1
    settings = worker_settings(
        sink, smtp_relays=f"{dead},{alive}", relay_breaker_threshold=1, relay_breaker_pause_seconds=60
    )
    first, second = email_envelope("relayed@example.com"), email_envelope("relayed@example.com")
    async with running_worker(settings):
        await gateway.send(first)
        await gateway.wait_for_status(first.notification_id, "delivered")
        await gateway.send(second)  # the dead relay's breaker is open now: passed over at once
        row = await gateway.wait_for_status(second.notification_id, "delivered")

    events = await gateway.events(first.notification_id)
    assert [(status, attempt, detail.get("relay")) for status, attempt, detail in events] == [
        ("sending", 1, None),
        ("retrying", 1, dead),
        ("sending", 2, None),
        ("delivered", 2, alive),
    ]
    assert row["attempts"] == 1
    assert [detail.get("relay") for _, _, detail in await gateway.events(second.notification_id)][-1] == alive
    assert len(await sink.messages("relayed@example.com")) == 2
