"""Finding 8: one status machine, claims with leases. A worker sends only what the transition table of
``common/notification_tables.py`` lets it claim: never a ``failed``, ``skipped`` or ``cancelled`` row, never a
row another worker holds under a live lease (that copy waits on the retry ladder, never dropped), never to an
address suppressed by the time of the claim. A lease that lapsed is claimed again, and the reconciler
republishes a lapsed ``sending`` row once, and a late-confirmed publish once, not at every pass."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import REGISTRY

from common.amqp.topology import FAILED_QUEUE, work_queue
from common.envelope import encode_envelope
from common.notification_tables import Status
from delivery.outcome import Delivered
from delivery.status_store import Outcome, RowState, StatusStore
from devstack.infra import AmqpSession, Infra
from email_worker.deliverer import EmailDeliverer
from email_worker.settings import EmailWorkerSettings
from gateway.publishing import EnvelopePublisher
from gateway.reconciler import Reconciler
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb
from tests.integration.delivery.fixtures import db, gateway, sink
from tests.integration.delivery.support import Gateway, email_envelope, eventually, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink

__all__ = ["db", "gateway", "sink"]

PROVIDER_TIMEOUT = 1.5
"""Short enough that leases (twice this) lapse within a test."""


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": "email", **labels}) or 0.0


def settings(sink: RunningSmtpSink, **overrides: Any) -> EmailWorkerSettings:
    return worker_settings(sink, provider_timeout_seconds=PROVIDER_TIMEOUT, **overrides)


class SlowProvider(EmailDeliverer):
    """The real SMTP delivery, after a pause: a provider slow enough that a second copy arrives mid-send."""

    async def deliver(self, envelope: pb.MessageEnvelope, attempt: int = 1) -> Delivered:
        await asyncio.sleep(0.5)
        return await super().deliver(envelope, attempt)


async def set_status(gateway: Gateway, envelope: pb.MessageEnvelope, status: str, reason: str | None) -> None:
    await gateway.db.execute(
        "UPDATE notification_statuses SET status = $2, reason = $3 WHERE id = $1",
        uuid.UUID(envelope.notification_id),
        status,
        reason,
    )


async def lapse_lease(gateway: Gateway, envelope: pb.MessageEnvelope, seconds_ago: float) -> None:
    await gateway.db.execute(
        "UPDATE notification_statuses SET lease_until = now() - make_interval(secs => $2) WHERE id = $1",
        uuid.UUID(envelope.notification_id),
        seconds_ago,
    )


@asynccontextmanager
async def other_worker(infra: Infra, lease_seconds: float) -> AsyncIterator[StatusStore]:
    """The status store of another worker replica, claiming with its own lease."""
    store = await StatusStore.open(infra.database("NOTIFICATIONS_DATABASE_URL"), lease_seconds=lease_seconds)
    try:
        yield store
    finally:
        await store.close()


async def drain(amqp: AmqpSession, queue: str, quiet_seconds: float = 1.0) -> list[AbstractIncomingMessage]:
    """Every message of ``queue``, acked: taken until none came for ``quiet_seconds`` (a quorum queue's
    message count lags behind its publishes, so it cannot tell)."""
    declared = await amqp.channel.get_queue(queue, ensure=False)
    loop = asyncio.get_running_loop()
    taken = []
    idle_since = loop.time()
    while loop.time() - idle_since < quiet_seconds:
        message = await declared.get(no_ack=False, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        await message.ack()
        taken.append(message)
        idle_since = loop.time()
    return taken


@asynccontextmanager
async def reconciler(infra: Infra, amqp: AmqpSession, confirm_timeout: float = 5.0) -> AsyncIterator[Reconciler]:
    pool = await asyncpg.create_pool(infra.database("NOTIFICATIONS_DATABASE_URL"), min_size=1, max_size=2)
    publisher = EnvelopePublisher(amqp.publisher, confirm_timeout)
    try:
        yield Reconciler(NotificationStore(pool), publisher, age_seconds=30, interval_seconds=0, batch_size=500)
    finally:
        await publisher.close()
        await pool.close()


async def test_a_failed_or_skipped_row_is_never_claimed_and_its_copy_is_acked_unsent(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    failed, skipped = email_envelope("gave-up@example.com"), email_envelope("opted-out@example.com")
    await gateway.insert_row(failed)
    await set_status(gateway, failed, "failed", "smtp_550")
    await gateway.insert_row(skipped)
    await set_status(gateway, skipped, "skipped", "channel_disabled")
    counted = (
        metric("notifications_not_sent_total", reason="failed"),
        metric("notifications_not_sent_total", reason="skipped"),
    )
    async with running_worker(settings(sink)):
        await gateway.publish(failed)
        await gateway.publish(skipped)
        await eventually(
            lambda: (
                metric("notifications_not_sent_total", reason="failed"),
                metric("notifications_not_sent_total", reason="skipped"),
            ),
            lambda now: now[0] > counted[0] and now[1] > counted[1],
        )
    assert await sink.messages() == []
    assert (
        (await gateway.row(failed.notification_id))["status"],
        (await gateway.row(skipped.notification_id))["status"],
    ) == (
        "failed",
        "skipped",
    )
    assert await gateway.events(failed.notification_id) == []
    assert await amqp.depth(work_queue("email")) == 0
    assert await amqp.depth(FAILED_QUEUE) == 0


async def test_two_copies_consumed_together_are_sent_once_and_the_second_waits_on_the_ladder(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("twice-published@example.com")
    await gateway.insert_row(envelope)
    deferred = metric("notifications_deferred_total")
    duplicates = metric("notifications_duplicates_skipped_total")
    await gateway.publish(envelope)
    await gateway.publish(envelope)
    async with running_worker(settings(sink), SlowProvider):
        await gateway.wait_for_status(envelope.notification_id, "delivered")
        # the second copy met the live lease, went to the ladder, came back after it and found the delivery
        await eventually(lambda: metric("notifications_duplicates_skipped_total"), lambda v: v > duplicates, 15)
    assert metric("notifications_deferred_total") > deferred
    assert len(await sink.messages("twice-published@example.com")) == 1
    statuses = [status for status, _, _ in await gateway.events(envelope.notification_id)]
    assert statuses == ["sending", "delivered"]


async def test_a_live_lease_defers_the_copy_without_spending_an_attempt(
    infra: Infra, gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("held-elsewhere@example.com")
    await gateway.insert_row(envelope)
    async with other_worker(infra, lease_seconds=3) as other:
        assert (await other.claim(envelope.notification_id, 1)).state is RowState.DONE
    deferred = metric("notifications_deferred_total")
    async with running_worker(settings(sink)):
        await gateway.publish(envelope)
        await eventually(lambda: metric("notifications_deferred_total"), lambda v: v > deferred)
        held = await gateway.row(envelope.notification_id)
        assert (held["status"], held["attempts"]) == ("sending", 1)
        assert await sink.messages("held-elsewhere@example.com") == []
        # the other worker never wrote an outcome (it died): once its lease lapsed, the deferred copy sends
        row = await gateway.wait_for_status(envelope.notification_id, "delivered", timeout=15)
    assert row["attempts"] == 1  # the deferral spent no attempt
    assert len(await sink.messages("held-elsewhere@example.com")) == 1


async def test_an_expired_lease_is_claimed_and_sent_again(
    infra: Infra, gateway: Gateway, sink: RunningSmtpSink
) -> None:
    envelope = email_envelope("lapsed@example.com")
    await gateway.insert_row(envelope)
    async with other_worker(infra, lease_seconds=60) as other:
        assert (await other.claim(envelope.notification_id, 1)).state is RowState.DONE
    await lapse_lease(gateway, envelope, 1)
    async with running_worker(settings(sink)):
        await gateway.publish(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")
    assert row["lease_until"] is None
    assert len(await sink.messages("lapsed@example.com")) == 1
    statuses = [status for status, _, _ in await gateway.events(envelope.notification_id)]
    assert statuses == ["sending", "sending", "delivered"]


async def test_an_outcome_is_recorded_only_by_the_claim_holding_the_lease(infra: Infra, gateway: Gateway) -> None:
    envelope = email_envelope()
    await gateway.insert_row(envelope)
    async with other_worker(infra, lease_seconds=60) as first, other_worker(infra, lease_seconds=60) as second:
        stale = await first.claim(envelope.notification_id, 1)
        await lapse_lease(gateway, envelope, 1)
        fresh = await second.claim(envelope.notification_id, 1)
        assert fresh.state is RowState.DONE
        late = Outcome(envelope.notification_id, Status.RETRYING, 1, retry_in_seconds=5, lease=stale.lease)
        assert await first.write(late) is RowState.REFUSED
        assert await second.write(Outcome(envelope.notification_id, Status.DELIVERED, 1, lease=fresh.lease)) is (
            RowState.DONE
        )
    assert (await gateway.row(envelope.notification_id))["status"] == "delivered"


async def test_a_suppressed_address_found_at_the_claim_is_skipped_not_sent(
    gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    address = f"Bounced-{uuid.uuid4().hex[:8]}@Example.com"
    envelope = email_envelope(address)
    await gateway.insert_row(envelope)  # accepted before the address hard-bounced for another notification
    await gateway.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason)"
        " VALUES ((SELECT id FROM applications WHERE name = 'default'), $1, 'hard_bounce')",
        address.lower(),
    )
    async with running_worker(settings(sink)):
        await gateway.publish(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "skipped")
    assert row["reason"] == "suppressed"
    assert await sink.messages() == []
    assert [(status, detail) for status, _, detail in await gateway.events(envelope.notification_id)] == [
        ("skipped", {"reason": "suppressed"})
    ]
    assert await amqp.depth(FAILED_QUEUE) == 0


async def test_the_reconciler_republishes_a_sending_row_whose_lease_lapsed_long_ago(
    infra: Infra, gateway: Gateway, amqp: AmqpSession
) -> None:
    envelope = email_envelope("vanished-worker@example.com")
    await gateway.insert_row(envelope)
    async with other_worker(infra, lease_seconds=60) as other:
        await other.claim(envelope.notification_id, 2)
    await lapse_lease(gateway, envelope, 120)
    async with reconciler(infra, amqp) as reconciling:
        while await reconciling.run_once():  # rows other tests left behind, and this one
            pass
        mine = [m for m in await drain(amqp, work_queue("email")) if m.message_id == envelope.notification_id]
        assert len(mine) == 1
        republished = pb.MessageEnvelope.FromString(mine[0].body)
        assert (republished.email_recipient.address, republished.attempt) == ("vanished-worker@example.com", 2)
        assert await reconciling.run_once() == 0  # the lease is dated now: not again at the next pass
    row = await gateway.row(envelope.notification_id)
    assert row["status"] == "sending"
    assert row["lease_until"] is not None


async def test_a_late_confirm_is_republished_once_then_left_to_the_workers(
    infra: Infra, gateway: Gateway, amqp: AmqpSession
) -> None:
    envelope = email_envelope("slow-broker@example.com")
    await gateway.db.execute(
        """INSERT INTO notification_statuses
           (id, channel, user_id, template_slug, status, envelope, created_at, updated_at, application_id)
           VALUES ($1, 'email', $2, 'welcome', 'queued', $3, now() - interval '5 min', now() - interval '5 min',
                   (SELECT id FROM applications WHERE name = 'default'))""",
        uuid.UUID(envelope.notification_id),
        uuid.UUID(envelope.user_id),
        encode_envelope(envelope),
    )
    async with reconciler(infra, amqp, confirm_timeout=1e-6) as reconciling:  # every confirm comes "late"
        for _ in range(3):
            await reconciling.run_once()
        copies = await drain(amqp, work_queue("email"))
    assert [m.message_id for m in copies].count(envelope.notification_id) == 1
    assert (await gateway.row(envelope.notification_id))["published_at"] is not None
