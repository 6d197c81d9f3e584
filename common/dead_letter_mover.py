"""Moving ``failed.queue`` into the ``dead_letters`` table (docs/design.md §7 "The console"), so a dead letter
can be listed, inspected, replayed and discarded without the broker's redelivery counts.

Each message is inserted, and acked only once the insert committed; a copy redelivered after a lost ack
finds its ``message_key`` taken and is acked without a second row. A database that fails leaves the message
in the queue (requeued after a pause). Every gateway replica runs a consumer (competing consumers; the key
makes any overlap harmless); ``python -m delivery.replay`` drains the queue once before it reads the table.
"""

from __future__ import annotations

import asyncio
import logging

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from common.amqp.connection import close_after_acks
from common.amqp.topology import FAILED_QUEUE
from common.dead_letter_store import DeadLetterStore
from common.dead_letters import read_dead_letter

logger = logging.getLogger(__name__)

PREFETCH = 50
RETRY_PAUSE_SECONDS = 1.0


class DeadLetterMover:
    """Consumes ``failed.queue`` into ``dead_letters``."""

    def __init__(self, connection: AbstractRobustConnection, store: DeadLetterStore) -> None:
        self._connection = connection
        self._store = store
        self._channel: AbstractChannel | None = None

    async def keep(self, message: AbstractIncomingMessage) -> bool:
        """Insert one message's row (no-op for a copy kept before); True when it was new."""
        letter = read_dead_letter(message.body, message.headers, message.message_id)
        return await self._store.insert(letter, message.body, message.headers, message.message_id)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            await self.keep(message)
        except Exception:
            logger.exception("could not keep dead letter %s; requeueing it", message.message_id)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def start(self) -> None:
        """Begin consuming; the robust connection restores the consumer after a broker restart."""
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=PREFETCH)
        queue = await self._channel.declare_queue(FAILED_QUEUE, passive=True)
        await queue.consume(self._on_message)

    async def stop(self) -> None:
        if self._channel is not None:
            await close_after_acks(self._channel)

    async def drain(self) -> int:
        """Move what the queue holds now, once, without a consumer; the number of new rows."""
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(FAILED_QUEUE, passive=True)
            moved = 0
            for _ in range(queue.declaration_result.message_count or 0):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                moved += await self.keep(message)
                await message.ack()
            return moved
        finally:
            await close_after_acks(channel)
