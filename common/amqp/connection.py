"""Connecting to RabbitMQ: a robust connection that reconnects by itself after a broker restart, and closing a
consumer's channel or connection without losing its last acks."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractRobustConnection

SETTLE_LINGER_SECONDS = 0.25
"""How long a consumer keeps its channel open after its last ack: a quorum queue may drop acks that arrive just
before the channel closes and hand those messages out again (rabbitmq-server#10327; docs/operations.md)."""


async def connect(url: str, *, name: str) -> AbstractRobustConnection:
    """A robust connection to ``url``; ``name`` shows in the management UI's connection list."""
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name}, reconnect_interval=1)


async def close_after_acks(closable: AbstractChannel | AbstractConnection) -> None:
    """Close a channel or connection that acked messages, once the broker has had time to apply the acks."""
    await asyncio.sleep(SETTLE_LINGER_SECONDS)
    await closable.close()
