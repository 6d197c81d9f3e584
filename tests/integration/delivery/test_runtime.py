"""The shared worker runtime's rules, observed through the email worker, the broker, the database and the
SMTP sink: poison, missing rows, duplicates, expiry, redelivery mid-send, the breaker and the rate ceiling."""

from __future__ import annotations

import uuid
from datetime import datetime

import aio_pika
from prometheus_client import REGISTRY

from common.amqp.topology import FAILED_QUEUE, work_queue
from delivery.breaker import BreakerState
from devstack.infra import AmqpSession
from tests.integration.delivery.support import (
    Gateway,
    email_envelope,
    eventually,
    running_worker,
    worker_settings,
)
from tests.support.smtp_sink import RunningSmtpSink


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": "email", **labels}) or 0.0


async def test_a_poison_message_is_dead_lettered_and_the_worker_keeps_consuming(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    async with running_worker(worker_settings(sink)):
        poison = aio_pika.Message(b"\xff\xfe not an envelope", message_id="poison-1", correlation_id="req-poison")
        await amqp.publisher.publish(amqp.publisher.topology.direct, poison, "email")
        envelope = await gateway.send(email_envelope("after-poison@example.com"))
        await gateway.wait_for_status(envelope.notification_id, "delivered")

    dead = await amqp.get(FAILED_QUEUE)
    assert dead.body == b"\xff\xfe not an envelope"
    assert dead.headers["x-failure-reason"] == "poison"
    assert "MessageEnvelope" in str(dead.headers["x-failure-detail"])
    assert dead.headers["x-attempts"] == 0
    assert dead.headers["x-original-routing-key"] == "email"
    assert dead.message_id == "poison-1"
    await dead.ack()
    assert await amqp.depth(work_queue("email")) == 0


async def test_an_envelope_without_a_row_is_dropped_and_counted(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    dropped = metric("notifications_dropped_missing_row_total")
    async with running_worker(worker_settings(sink)):
        await gateway.publish(email_envelope("nobody@example.com"))
        await eventually(lambda: metric("notifications_dropped_missing_row_total"), lambda v: v > dropped)
    assert await sink.messages() == []
    assert await amqp.depth(work_queue("email")) == 0
    assert await amqp.depth(FAILED_QUEUE) == 0


async def test_a_duplicate_envelope_after_delivery_is_not_sent_again(gateway: Gateway, sink: RunningSmtpSink) -> None:
    skipped = metric("notifications_duplicates_skipped_total")
    envelope = email_envelope("once@example.com")
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        await gateway.wait_for_status(envelope.notification_id, "delivered")
        await gateway.publish(envelope)
        await eventually(lambda: metric("notifications_duplicates_skipped_total"), lambda v: v > skipped)
    assert len(await sink.messages("once@example.com")) == 1
    statuses = [status for status, _, _ in await gateway.events(envelope.notification_id)]
    assert statuses == ["sending", "delivered"]


async def test_an_envelope_redelivered_while_its_row_is_sending_is_sent_again(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("crashed-mid-send@example.com")
    await gateway.insert_row(envelope)
    await gateway.db.execute(
        "UPDATE notification_statuses SET status = 'sending', attempts = 1 WHERE id = $1",
        uuid.UUID(envelope.notification_id),
    )
    async with running_worker(worker_settings(sink)):
        await gateway.publish(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")
    assert row["attempts"] == 1
    assert len(await sink.messages("crashed-mid-send@example.com")) == 1


async def test_an_expired_envelope_is_failed_without_sending(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    envelope = email_envelope("too-late@example.com", expires_in_seconds=-1)
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")
    assert row["reason"] == "expired"
    assert row["attempts"] == 0
    [(status, attempt, detail)] = await gateway.events(envelope.notification_id)
    assert (status, attempt, detail["reason"]) == ("failed", 0, "expired")
    assert await sink.messages() == []
    assert await amqp.depth(FAILED_QUEUE) == 0


async def test_the_breaker_opens_on_a_refusing_server_defers_without_spending_attempts_and_closes(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    await sink.fail("*", 421, times=3)
    # the pause outlasts the gap between seeing OPEN and reading the metric, even on a loaded box
    settings = worker_settings(sink, breaker_threshold=3, breaker_pause_seconds=2.0, concurrency=1, prefetch=1)
    envelopes = [email_envelope(f"breaker-{n}@example.com") for n in range(6)]
    async with running_worker(settings) as runtime:
        for envelope in envelopes:
            await gateway.send(envelope)
        await eventually(lambda: runtime.breaker.state, lambda s: s is BreakerState.OPEN, 5)
        assert metric("notification_circuit_breaker_state") == BreakerState.OPEN
        for envelope in envelopes:
            await gateway.wait_for_status(envelope.notification_id, "delivered")
        assert runtime.breaker.state is BreakerState.CLOSED
        assert metric("notification_circuit_breaker_state") == BreakerState.CLOSED

    assert await sink.failures() == {}  # exactly three refusals: nothing was sent while the breaker was open
    assert len(await sink.messages()) == 6
    deferred = 0
    for envelope in envelopes:
        events = await gateway.events(envelope.notification_id)
        refused = sum(1 for status, _, detail in events if status == "retrying" and "smtp_code" in detail)
        deferrals = sum(1 for status, _, detail in events if status == "retrying" and "deferred" in detail)
        deferred += deferrals
        row = await gateway.row(envelope.notification_id)
        assert row["attempts"] == refused + 1, events  # deferrals are not attempts
    assert deferred >= 1


async def test_the_rate_ceiling_spaces_sends_and_fails_none(gateway: Gateway, sink: RunningSmtpSink) -> None:
    envelopes = [email_envelope(f"paced-{n}@example.com") for n in range(25)]
    async with running_worker(worker_settings(sink, max_per_second=20, concurrency=16)):
        for envelope in envelopes:
            await gateway.send(envelope)
        mails = await sink.wait_for_messages(25, timeout=10)
        for envelope in envelopes:
            await gateway.wait_for_status(envelope.notification_id, "delivered")

    times = sorted(datetime.fromisoformat(mail["received_at"]).timestamp() for mail in mails)
    # Slots are 50 ms apart, so the 21st send starts a second after the 1st. Arrival at the sink adds each
    # send's own SMTP time (a first connection, a loaded box), hence the margin: unpaced, 25 sends take ~0.1 s.
    assert min(times[i + 20] - times[i] for i in range(len(times) - 20)) >= 0.7
    assert times[-1] - times[0] >= 0.9


async def test_a_test_mode_email_is_recorded_delivered_and_never_reaches_smtp(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("test-mode@example.com")
    envelope.test_mode = True
    async with running_worker(worker_settings(sink)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")
        live = await gateway.send(email_envelope("live-after-test-mode@example.com"))
        await gateway.wait_for_status(live.notification_id, "delivered")
    assert await sink.messages("test-mode@example.com") == []
    assert (row["attempts"], row["provider_message_id"]) == (1, None)
    events = await gateway.events(envelope.notification_id)
    assert [(status, attempt) for status, attempt, _ in events] == [("sending", 1), ("delivered", 1)]
    assert events[-1][2]["message"] == "test mode"
