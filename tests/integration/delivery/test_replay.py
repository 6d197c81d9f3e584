"""The DLQ replay hands a message back only once its row is claimable: a worker that takes the replayed copy at
once must find the row ``queued``, never still ``failed`` (the status machine acks a failed row's copy unsent,
which would leave the notification ``queued`` for ever)."""

from __future__ import annotations

import uuid

import aio_pika

from common.dead_letter_replay import Action
from common.envelope import encode_envelope
from common.settings import load_settings
from delivery.replay import ReplaySettings, replay
from devstack.infra import AmqpSession
from tests.integration.delivery.support import Gateway, email_envelope, eventually, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink

LETTERS = 30


async def dead_letter(gateway: Gateway, amqp: AmqpSession) -> str:
    """A ``failed`` row and its message in ``failed.queue``, as a worker that gave up leaves them."""
    envelope = email_envelope(f"replayed-{uuid.uuid4().hex[:8]}@example.com")
    await gateway.insert_row(envelope)
    await gateway.db.execute(
        "UPDATE notification_statuses SET status = 'failed', reason = 'retries_exhausted', attempts = 5 WHERE id = $1",
        uuid.UUID(envelope.notification_id),
    )
    message = aio_pika.Message(
        encode_envelope(envelope),
        message_id=envelope.notification_id,
        headers={"x-failure-reason": "retries_exhausted", "x-attempts": 5, "x-original-routing-key": "email"},
    )
    await amqp.publisher.publish(amqp.publisher.topology.dead_letter, message, "email")
    return envelope.notification_id


async def test_replayed_copies_taken_at_once_are_all_delivered(
    gateway: Gateway, amqp: AmqpSession, sink: RunningSmtpSink
) -> None:
    ids = [await dead_letter(gateway, amqp) for _ in range(LETTERS)]
    async with running_worker(worker_settings(sink)):
        results = await replay(load_settings(ReplaySettings), {uuid.UUID(each) for each in ids}, dry_run=False)
        assert [result.action for result in results] == [Action.REPLAYED] * LETTERS, [r.line() for r in results]

        async def statuses() -> list[str]:
            return [(await gateway.row(notification_id))["status"] for notification_id in ids]

        await eventually(statuses, lambda found: found == ["delivered"] * LETTERS, timeout=15)
    for notification_id in ids:
        row = await gateway.row(notification_id)
        assert (row["attempts"], row["published_at"] is not None) == (1, True)
