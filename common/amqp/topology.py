"""The RabbitMQ topology of docs/design.md §3, declared idempotently by every service that uses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

from common.channels import Channel

QueueType = Literal["quorum", "classic"]

DIRECT_EXCHANGE = "notifications.direct"
RETRY_EXCHANGE = "notifications.retry"
DEAD_LETTER_EXCHANGE = "notifications.dlx"
EVENTS_EXCHANGE = "notifications.events"
FAILED_QUEUE = "failed.queue"

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


EXCHANGES = {
    DIRECT_EXCHANGE: aio_pika.ExchangeType.DIRECT,
    RETRY_EXCHANGE: aio_pika.ExchangeType.DIRECT,
    DEAD_LETTER_EXCHANGE: aio_pika.ExchangeType.FANOUT,
    EVENTS_EXCHANGE: aio_pika.ExchangeType.FANOUT,
}
"""Every exchange (all durable) and its type."""


@dataclass(frozen=True)
class QueueSpec:
    """A durable queue: its arguments (besides the queue type) and its bindings as (exchange, routing key)."""

    name: str
    arguments: dict[str, Any]
    bindings: tuple[tuple[str, str], ...]


def queue_specs() -> list[QueueSpec]:
    """Every queue of docs/design.md §3's table: the DLQ, the work queues and the retry ladder of each channel."""
    specs = [QueueSpec(FAILED_QUEUE, {}, ((DEAD_LETTER_EXCHANGE, ""),))]
    for channel in Channel:
        name = channel.value
        specs.append(
            QueueSpec(work_queue(name), {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}, ((DIRECT_EXCHANGE, name),))
        )
        specs.extend(
            QueueSpec(
                retry_queue(name, delay),
                {
                    "x-message-ttl": delay * 1000,
                    "x-dead-letter-exchange": DIRECT_EXCHANGE,
                    "x-dead-letter-routing-key": name,
                },
                ((RETRY_EXCHANGE, retry_routing_key(name, delay)),),
            )
            for delay in RETRY_DELAYS_SECONDS
        )
    return specs


async def declare_topology(channel: AbstractChannel, queue_type: QueueType = "quorum") -> Topology:
    """Declare every exchange, queue and binding of docs/design.md §3; safe to call again and from every service."""
    exchanges = {name: await channel.declare_exchange(name, kind, durable=True) for name, kind in EXCHANGES.items()}
    for spec in queue_specs():
        queue = await channel.declare_queue(
            spec.name, durable=True, arguments={"x-queue-type": queue_type, **spec.arguments}
        )
        for exchange, routing_key in spec.bindings:
            await queue.bind(exchanges[exchange], routing_key=routing_key)
    return Topology(
        direct=exchanges[DIRECT_EXCHANGE],
        retry=exchanges[RETRY_EXCHANGE],
        dead_letter=exchanges[DEAD_LETTER_EXCHANGE],
        events=exchanges[EVENTS_EXCHANGE],
    )
