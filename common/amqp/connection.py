"""Connecting to RabbitMQ: a robust connection that reconnects by itself after a broker restart."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractRobustConnection


async def connect(url: str, *, name: str) -> AbstractRobustConnection:
    """A robust connection to ``url``; ``name`` shows in the management UI's connection list."""
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name}, reconnect_interval=1)
