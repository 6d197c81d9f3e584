"""Publishing with publisher confirms and ``mandatory``: a call returns only once the broker has the message
in a queue, and raises otherwise (docs/design.md §3)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection, HeadersType
from aiormq.exceptions import AMQPConnectionError, ChannelInvalidStateError
from google.protobuf.message import Message as ProtoMessage

from common.amqp.topology import ENVELOPE_CONTENT_TYPE, QueueType, Topology, declare_topology

CONNECTION_LOST = (AMQPConnectionError, ChannelInvalidStateError, ConnectionError)
"""What a publish raises when its connection went away before the confirm (a cluster node stopped): the channel
comes back on another node, so the publish is tried again there."""
REPUBLISH_PAUSE_SECONDS = 0.2


def protobuf_message(
    payload: ProtoMessage,
    *,
    message_id: str | None = None,
    correlation_id: str | None = None,
    headers: HeadersType | None = None,
    expiration_ms: int | None = None,
    timestamp: datetime | None = None,
) -> aio_pika.Message:
    """A persistent AMQP message whose body is ``payload`` serialized, typed by its full protobuf name."""
    return aio_pika.Message(
        body=payload.SerializeToString(),
        content_type=ENVELOPE_CONTENT_TYPE,
        type=payload.DESCRIPTOR.full_name,
        message_id=message_id,
        correlation_id=correlation_id,
        headers=dict(headers or {}),
        expiration=expiration_ms / 1000 if expiration_ms is not None else None,
        timestamp=timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def open_confirming_channel(connection: AbstractRobustConnection) -> AbstractChannel:
    """A channel with publisher confirms on, where an unroutable ``mandatory`` publish raises."""
    return await connection.channel(publisher_confirms=True, on_return_raises=True)


class Publisher:
    """Publishes over one confirming channel. Concurrent calls share it, so confirms are windowed."""

    def __init__(self, channel: AbstractChannel, topology: Topology) -> None:
        self._channel = channel
        self.topology = topology

    @classmethod
    async def create(cls, connection: AbstractRobustConnection, queue_type: QueueType) -> Publisher:
        """Open a confirming channel on ``connection`` and declare the topology on it."""
        channel = await open_confirming_channel(connection)
        return cls(channel, await declare_topology(channel, queue_type))

    async def publish(
        self,
        exchange: AbstractExchange,
        message: aio_pika.Message,
        routing_key: str,
        *,
        mandatory: bool = True,
        timeout: float = 10.0,
        reconnect_seconds: float | None = None,
    ) -> None:
        """Publish and wait for the broker's confirm.

        A publish whose connection is lost before its confirm came is published again once the robust
        connection is back (on the next node of a cluster), for up to ``reconnect_seconds`` (default: all of
        ``timeout``): the broker may then hold two copies, which the workers' claim settles (docs/design.md §7).
        Raises ``aio_pika.exceptions.PublishError`` when no queue took the message, ``DeliveryError`` when the
        broker refused it, ``asyncio.TimeoutError`` when no confirm came within ``timeout`` seconds, and the
        last connection error when the connection was not back in time. ``mandatory=False`` is only for events,
        which may have no subscriber.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        reconnect_deadline = min(deadline, loop.time() + (timeout if reconnect_seconds is None else reconnect_seconds))
        while True:
            try:
                await exchange.publish(
                    message, routing_key=routing_key, mandatory=mandatory, timeout=deadline - loop.time()
                )
                return
            except CONNECTION_LOST:
                if loop.time() + REPUBLISH_PAUSE_SECONDS >= reconnect_deadline:
                    raise
                await asyncio.sleep(REPUBLISH_PAUSE_SECONDS)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()
