"""Connecting to RabbitMQ: a robust connection that reconnects by itself after a broker restart, moving on to the
next node of a cluster when its node goes away, and closing a consumer's channel or connection without losing its
last acks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aio_pika import RobustConnection
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from yarl import URL

logger = logging.getLogger(__name__)

SETTLE_LINGER_SECONDS = 0.25
"""How long a consumer keeps its channel open after its last ack: a quorum queue may drop acks that arrive just
before the channel closes and hand those messages out again (rabbitmq-server#10327; docs/operations.md)."""

RECONNECT_SECONDS = 1.0
"""The pause between two connection attempts once connected (each attempt goes to the next node)."""


class NodeListConnection(RobustConnection):
    """A robust connection over a list of nodes: every lost connection and every failed attempt moves the next
    attempt to the next node, round the list. aio-pika's own robust connection only ever retries its one URL;
    its channels, exchanges, queues and consumers are restored on whichever node answers."""

    def __init__(self, nodes: Sequence[str], first: int = 0, **kwargs: Any) -> None:
        self._nodes = [URL(node) for node in nodes]
        self._current = first % len(self._nodes)
        super().__init__(self._nodes[self._current], **kwargs)

    async def _on_connection_close(self, closing: asyncio.Future[Any]) -> None:
        # Called both when an open connection is lost and when an attempt fails (aio-pika's UnderlayConnection).
        if not (self._close_called or self.is_closed) and len(self._nodes) > 1:
            self._current = (self._current + 1) % len(self._nodes)
            self.url = self._nodes[self._current]
            logger.info("next RabbitMQ attempt goes to %s:%s", self.url.host, self.url.port)
        await super()._on_connection_close(closing)


async def connect(nodes: str | Sequence[str], *, name: str) -> NodeListConnection:
    """A robust connection to the first of ``nodes`` (one URL, or a cluster's list) that answers; ``name`` shows
    in the management UI's connection list. Raises the last node's error when none answers."""
    urls = [nodes] if isinstance(nodes, str) else list(nodes)
    if not urls:
        raise ValueError("no RabbitMQ node to connect to")
    error: BaseException = ConnectionError("no RabbitMQ node answered")
    for first in range(len(urls)):
        connection = NodeListConnection(
            urls, first, client_properties={"connection_name": name}, reconnect_interval=RECONNECT_SECONDS
        )
        try:
            await connection.connect()
        except CONNECTION_EXCEPTIONS as failure:
            await connection.close()
            error = failure
            continue
        return connection
    raise error


async def close_after_acks(closable: AbstractChannel | AbstractConnection) -> None:
    """Close a channel or connection that acked messages, once the broker has had time to apply the acks."""
    await asyncio.sleep(SETTLE_LINGER_SECONDS)
    await closable.close()
