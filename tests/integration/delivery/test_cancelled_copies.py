"""A cancelled notification is never sent, also when copies of its envelope are already in the work queue or
on the retry ladder: the worker's claim refuses the row and the copy is acked unsent."""

from __future__ import annotations

import uuid

import asyncpg
from prometheus_client import REGISTRY

from common.amqp.publisher import protobuf_message
from common.amqp.topology import FAILED_QUEUE, retry_queue, retry_routing_key, work_queue
from devstack.infra import AmqpSession, Infra
from gateway.store import NotificationStore
from tests.integration.delivery.support import Gateway, email_envelope, eventually, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink


def _not_sent_as_cancelled() -> float:
    return REGISTRY.get_sample_value("notifications_not_sent_total", {"channel": "email", "reason": "cancelled"}) or 0


async def test_copies_of_a_cancelled_notification_in_the_queue_and_on_the_retry_ladder_are_never_sent(
    infra: Infra, gateway: Gateway, sink: RunningSmtpSink, amqp: AmqpSession
) -> None:
    queued = await gateway.send(email_envelope("cancelled-in-queue@example.com"))
    retrying = email_envelope("cancelled-on-the-ladder@example.com")
    await gateway.insert_row(retrying)
    await gateway.db.execute(
        "UPDATE notification_statuses SET status = 'retrying', attempts = 1 WHERE id = $1",
        uuid.UUID(retrying.notification_id),
    )
    retrying.attempt = 2
    await amqp.publisher.publish(
        amqp.publisher.topology.retry,
        protobuf_message(retrying, message_id=retrying.notification_id, expiration_ms=1000),
        retry_routing_key("email", 5),
    )
    assert await amqp.depth(work_queue("email")) == 1
    assert await amqp.depth(retry_queue("email", 5)) == 1

    url = infra.database("NOTIFICATIONS_DATABASE_URL")
    store = NotificationStore(await asyncpg.create_pool(url, min_size=1, max_size=1))
    try:
        for envelope in (queued, retrying):
            application_id = (await gateway.row(envelope.notification_id))["application_id"]
            cancelled = await store.cancel(application_id, uuid.UUID(envelope.notification_id))
            assert cancelled is not None
            assert cancelled["status"] == "cancelled"
    finally:
        await store.pool.close()

    before = _not_sent_as_cancelled()
    async with running_worker(worker_settings(sink)):
        await eventually(_not_sent_as_cancelled, lambda count: count >= before + 2)
    assert await sink.messages() == []
    for envelope in (queued, retrying):
        row = await gateway.row(envelope.notification_id)
        assert (row["status"], row["reason"]) == ("cancelled", "cancelled_by_client")
        assert [status for status, _, _ in await gateway.events(envelope.notification_id)] == ["cancelled"]
    assert await amqp.depth(work_queue("email")) == 0
    assert await amqp.depth(FAILED_QUEUE) == 0
