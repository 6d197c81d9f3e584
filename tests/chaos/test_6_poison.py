"""Scenario 6: a poison message and an envelope for a deleted user in the queue, mid-load.

The poison message (not an envelope) goes to ``failed.queue`` with ``x-failure-reason: poison`` (and from there
to the operator's ``/v1/dead-letters``, belonging to no application) and the worker goes on delivering. A
notification accepted before its user was deleted and not yet claimed by a worker is cancelled by the deletion:
its message, still in the queue, is acked unsent (docs/operations.md, Security).
"""

from __future__ import annotations

import asyncio
import uuid

import aio_pika

from common.amqp.topology import DIRECT_EXCHANGE
from devstack.private_infra import PrivateInfra
from tests.chaos.scenario import Chaos, assert_accounted, metric
from tests.e2e.api import unique
from tests.e2e.dlq import wait_for_dead_letter


async def publish_poison(rabbitmq_url: str, message_id: str) -> None:
    """Bytes that are no envelope, published like an envelope to the email queue."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(DIRECT_EXCHANGE, ensure=False)
        poison = aio_pika.Message(
            b"\xff\x00 not a MessageEnvelope", message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await exchange.publish(poison, routing_key="email", mandatory=True)
    finally:
        await connection.close()


async def test_a_poison_message_is_dead_lettered_and_a_deleted_users_notifications_are_cancelled(
    chaos: Chaos, private: PrivateInfra
) -> None:
    stack, api, mailbox, push_server = chaos.stack, chaos.api, chaos.mailbox, chaos.push_server
    slug = chaos.audience[0]["template"]
    leaving = await api.create_user(name="Leaving Soon")
    token = unique("device")
    await api.add_device(leaving["id"], token)
    load = await chaos.start_load()

    await asyncio.gather(stack.stop_service("email_worker"), stack.stop_service("push_worker"))
    held = {}
    for channel in ("email", "push"):
        notification_id = await api.send_queued(
            user_id=leaving["id"], channel=channel, template=slug, variables={"n": 0}
        )
        held[notification_id] = channel
    deleted = await api.http.delete(f"/v1/users/{leaving['id']}")
    poison_id = f"poison-{uuid.uuid4()}"
    await publish_poison(private.rabbitmq.url, poison_id)
    await asyncio.gather(stack.start_service("email_worker"), stack.start_service("push_worker"))

    result = await load.finish()
    counted = await chaos.tally("6 poison message + deleted user", result)
    dead = await wait_for_dead_letter(api.http, poison_id)
    poisoned = await metric(stack.url("email_worker"), "notifications_failed_total", channel="email", reason="poison")
    counted.notes.append("poison dead-lettered (not a notification, so not in the counts); deleted user's 2 cancelled")

    assert deleted.status_code == 204, deleted.text
    assert (await api.http.get(f"/v1/users/{leaving['id']}")).status_code == 404
    assert_accounted(result, counted)
    assert (dead["reason"], dead["notification_id"], dead["envelope"]) == ("poison", None, None)
    assert poisoned == 1  # counted by the restarted worker, which took it off the queue
    for notification_id in held:
        status = await api.status(notification_id)
        assert (status["status"], status["reason"]) == ("cancelled", "user_deleted")
    assert await mailbox.messages(leaving["email"]) == []
    assert await push_server.messages(token) == []
