"""The RabbitMQ topology of DESIGN §3, declared idempotently by every service that uses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

QueueType = Literal["quorum", "classic"]

DIRECT_EXCHANGE = "notifications.direct"
RETRY_EXCHANGE = "notifications.retry"
DEAD_LETTER_EXCHANGE = "notifications.dlx"
EVENTS_EXCHANGE = "notifications.events"
FAILED_QUEUE = "failed.queue"

CHANNELS = ("email", "push")
RETRY_DELAYS_SECONDS = (5, 30, 120, 300, 600)
"""The fixed retry ladder: changing a step would make RabbitMQ refuse to redeclare its queue."""

ENVELOPE_CONTENT_TYPE = "application/x-protobuf"
ENVELOPE_TYPE = "notification.v1.MessageEnvelope"


def work_queue(channel: str) -> str:
    """The queue a channel's worker consumes: ``email.queue`` or ``push.queue``."""
    return f"{channel}.queue"


def retry_routing_key(channel: str, delay_seconds: int) -> str:
    """The routing key of a retry step on ``notifications.retry``."""
    return f"{channel}.{delay_seconds}"


def retry_queue(channel: str, delay_seconds: int) -> str:
    """The queue that holds a channel's messages for one retry step."""
    return f"{RETRY_EXCHANGE}.{retry_routing_key(channel, delay_seconds)}"


@dataclass(frozen=True)
class Topology:
    """The declared exchanges, for publishing."""

    direct: AbstractExchange
    retry: AbstractExchange
    dead_letter: AbstractExchange
    events: AbstractExchange


async def _queue(channel: AbstractChannel, name: str, queue_type: QueueType, **arguments: Any) -> AbstractQueue:
    return await channel.declare_queue(name, durable=True, arguments={"x-queue-type": queue_type, **arguments})


async def declare_topology(channel: AbstractChannel, queue_type: QueueType = "quorum") -> Topology:
    """Declare every exchange, queue and binding of DESIGN §3; safe to call again and from every service."""
    direct = await channel.declare_exchange(DIRECT_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    retry = await channel.declare_exchange(RETRY_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    dead_letter = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    events = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)

    failed = await _queue(channel, FAILED_QUEUE, queue_type)
    await failed.bind(dead_letter, routing_key="")

    for name in CHANNELS:
        queue = await _queue(channel, work_queue(name), queue_type, **{"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE})
        await queue.bind(direct, routing_key=name)
        for delay in RETRY_DELAYS_SECONDS:
            held = await _queue(
                channel,
                retry_queue(name, delay),
                queue_type,
                **{
                    "x-message-ttl": delay * 1000,
                    "x-dead-letter-exchange": DIRECT_EXCHANGE,
                    "x-dead-letter-routing-key": name,
                },
            )
            await held.bind(retry, routing_key=retry_routing_key(name, delay))
    return Topology(direct=direct, retry=retry, dead_letter=dead_letter, events=events)
