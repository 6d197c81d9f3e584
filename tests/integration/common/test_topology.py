"""The RabbitMQ topology of docs/design.md §3 on a real broker, and the confirming, mandatory publisher."""

import aio_pika
import pytest
from aio_pika.exceptions import PublishError

from common.amqp.connection import connect
from common.amqp.publisher import Publisher, protobuf_message
from common.amqp.topology import (
    ENVELOPE_CONTENT_TYPE,
    ENVELOPE_TYPE,
    FAILED_QUEUE,
    declare_topology,
    retry_routing_key,
)
from devstack.infra import AmqpSession, Infra, all_queues
from notification.v1 import notification_pb2 as pb
from tests.unit.common.test_envelope import email_envelope


async def test_the_topology_declares_twice_with_every_queue(amqp: AmqpSession) -> None:
    await declare_topology(await amqp.connection.channel(), "quorum")
    for queue in all_queues():
        assert await amqp.depth(queue) == 0


async def test_a_confirmed_publish_lands_in_its_queue_with_the_contract_properties(amqp: AmqpSession) -> None:
    envelope = email_envelope()
    message = protobuf_message(envelope, message_id=envelope.notification_id, correlation_id=envelope.correlation_id)
    await amqp.publisher.publish(amqp.publisher.topology.direct, message, "email")

    received = await amqp.get("email.queue")
    assert pb.MessageEnvelope.FromString(received.body) == envelope
    assert received.content_type == ENVELOPE_CONTENT_TYPE
    assert received.type == ENVELOPE_TYPE
    assert received.message_id == envelope.notification_id
    assert received.correlation_id == "req-1"
    assert received.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    await received.ack()


async def test_an_unroutable_publish_is_an_error_not_a_silent_success(amqp: AmqpSession) -> None:
    message = protobuf_message(email_envelope())
    with pytest.raises(PublishError):
        await amqp.publisher.publish(amqp.publisher.topology.direct, message, "sms")


async def test_a_rejected_message_is_dead_lettered_to_the_failed_queue(amqp: AmqpSession) -> None:
    await amqp.publisher.publish(amqp.publisher.topology.direct, protobuf_message(email_envelope()), "push")
    received = await amqp.get("push.queue")
    await received.reject(requeue=False)

    dead = await amqp.get(FAILED_QUEUE)
    assert pb.MessageEnvelope.FromString(dead.body) == email_envelope()
    await dead.ack()


async def test_a_retry_returns_to_the_work_queue_when_its_expiration_passes(amqp: AmqpSession) -> None:
    message = protobuf_message(email_envelope(), expiration_ms=100)
    await amqp.publisher.publish(amqp.publisher.topology.retry, message, retry_routing_key("email", 5))

    returned = await amqp.get("email.queue", timeout=4)
    assert pb.MessageEnvelope.FromString(returned.body).notification_id == email_envelope().notification_id
    await returned.ack()


async def test_the_classic_queue_type_works_too(infra: Infra) -> None:
    url = infra.rabbitmq_url.rsplit("/", 1)[0] + "/notifications_test_classic"
    connection = await connect(url, name="tests-classic")
    try:
        publisher = await Publisher.create(connection, "classic")
        await declare_topology(await connection.channel(), "classic")
        channel = await connection.channel()
        queue = await channel.declare_queue("email.queue", passive=True)
        await queue.purge()
        await publisher.publish(publisher.topology.direct, protobuf_message(email_envelope()), "email")
        received = await queue.get(timeout=5)
        assert received is not None
        await received.ack()
    finally:
        await connection.close()
