"""The reconciler publishes what a gateway that died between the row and the broker's confirm left behind."""

from __future__ import annotations

from datetime import timedelta

from devstack.infra import AmqpSession
from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.rows import deliver, insert_queued


async def published_at(gateway: Gateway, notification_id: object) -> object:
    return await gateway.resources.db.fetchval(
        "SELECT published_at FROM notification_statuses WHERE id = $1", notification_id
    )


async def test_a_row_left_unpublished_is_published_once_it_is_old_enough(gateway: Gateway, amqp: AmqpSession) -> None:
    reconciler = gateway.resources.reconciler
    while await reconciler.run_once():  # rows other tests left behind
        pass
    await (await amqp.channel.get_queue("email.queue", ensure=False)).purge()
    # the gateway "died" after writing these rows: one old enough, one too recent, one a worker already took
    stale_id, envelope = await insert_queued(gateway.resources.store, age=timedelta(minutes=5))
    recent_id, _ = await insert_queued(gateway.resources.store)
    taken_id, _ = await insert_queued(gateway.resources.store, age=timedelta(minutes=5))
    await deliver(gateway.resources.store, taken_id)

    assert await reconciler.run_once() == 1

    message = await amqp.get("email.queue")
    assert pb.MessageEnvelope.FromString(message.body) == envelope
    assert message.message_id == str(stale_id)
    assert message.correlation_id == "req-reconcile"
    await message.ack()
    assert await amqp.depth("email.queue") == 0
    assert await published_at(gateway, stale_id) is not None
    assert await published_at(gateway, recent_id) is None

    assert await reconciler.run_once() == 0
    assert await amqp.depth("email.queue") == 0
