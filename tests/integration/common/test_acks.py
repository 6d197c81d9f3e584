"""Coalesced acks against the real broker: what the consumer settled stays settled when its channel closes, what
it nacked comes back, and a run of acks goes out as one frame without waiting for an older message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from prometheus_client import REGISTRY

from common.amqp.acks import CoalescedAcks
from devstack.infra import AmqpSession

COUNT = 6


def frames() -> tuple[float, float]:
    """(multiple, single) ack frames sent so far."""
    name = "amqp_consumer_ack_frames_total"
    return (
        REGISTRY.get_sample_value(name, {"kind": "multiple"}) or 0.0,
        REGISTRY.get_sample_value(name, {"kind": "single"}) or 0.0,
    )


@pytest.fixture
async def queue(amqp: AmqpSession) -> AsyncIterator[str]:
    """A quorum queue of its own holding ``COUNT`` messages, deleted afterwards."""
    name = f"test-acks-{uuid.uuid4().hex[:8]}"
    declared = await amqp.channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    for n in range(COUNT):
        await amqp.channel.default_exchange.publish(aio_pika.Message(str(n).encode()), routing_key=name)
    yield name
    await declared.delete(if_unused=False, if_empty=False)


async def consume(channel: AbstractChannel, name: str, acks: CoalescedAcks) -> list[AbstractIncomingMessage]:
    """Every message of ``name``, in order, each noted as received and left unsettled."""
    await channel.set_qos(prefetch_count=COUNT * 2)
    declared: AbstractQueue = await channel.declare_queue(name, passive=True)
    received: list[AbstractIncomingMessage] = []

    async def on_message(message: AbstractIncomingMessage) -> None:
        acks.received(message)
        received.append(message)

    await declared.consume(on_message)
    for _ in range(100):
        if len(received) == COUNT:
            return received
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(received)} of {COUNT} messages arrived")


async def test_acks_settled_together_go_as_one_frame_and_stay_settled(amqp: AmqpSession, queue: str) -> None:
    acks = CoalescedAcks()
    channel = await amqp.connection.channel()
    messages = await consume(channel, queue, acks)
    before = frames()
    for message in messages:
        acks.ack(message)
    await acks.drain()
    multiple, single = frames()
    assert (multiple - before[0], single - before[1]) == (1, 0)
    await asyncio.sleep(0.25)  # a quorum queue applies acks that arrive just before a close (operations.md)
    await channel.close()
    assert await amqp.depth(queue) == 0


async def test_an_older_message_in_progress_holds_back_no_ack_and_a_nack_comes_back(
    amqp: AmqpSession, queue: str
) -> None:
    acks = CoalescedAcks()
    channel = await amqp.connection.channel()
    messages = await consume(channel, queue, acks)
    before = frames()
    for message in messages[1:4]:  # the first is still in progress: each goes alone, now
        acks.ack(message)
    await acks.drain()
    assert frames() == (before[0], before[1] + 3)

    acks.ack(messages[0])  # its tag and the fifth's now run on from the oldest unsettled: one frame
    acks.ack(messages[4])
    await acks.drain()
    assert frames() == (before[0] + 1, before[1] + 3)

    await acks.nack(messages[5], requeue=True)
    await acks.drain()
    assert frames() == (before[0] + 1, before[1] + 3)
    await asyncio.sleep(0.25)
    await channel.close()
    returned = await amqp.get(queue)
    assert (returned.body, returned.redelivered) == (b"5", True)
    assert await amqp.depth(queue) == 0  # every acked message stayed acked
