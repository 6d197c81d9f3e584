"""Publishing envelopes to ``notifications.direct`` (confirms + mandatory) and stamping ``published_at`` on
their rows in batches once the broker confirmed them (DESIGN §1)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import aio_pika

from common.amqp.publisher import Publisher, protobuf_message
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

MAX_PENDING_STAMPS = 100_000


class EnvelopePublisher:
    """Publishes one envelope and waits for the broker to confirm it reached a queue."""

    def __init__(self, publisher: Publisher, timeout_seconds: float) -> None:
        self._publisher = publisher
        self._timeout = timeout_seconds

    @staticmethod
    def message(envelope: pb.MessageEnvelope) -> aio_pika.Message:
        """The AMQP message of ``envelope``: its body is the bytes the status row keeps."""
        return protobuf_message(
            envelope,
            message_id=envelope.notification_id,
            correlation_id=envelope.correlation_id or None,
        )

    async def publish(self, message: aio_pika.Message, channel: str) -> None:
        """Publish with routing key ``channel``; raises when the broker did not put it in a queue."""
        await self._publisher.publish(self._publisher.topology.direct, message, channel, timeout=self._timeout)


class PublishedStamper:
    """Collects the ids of confirmed publishes and stamps their rows in one UPDATE per interval."""

    def __init__(self, store: NotificationStore, interval_seconds: float) -> None:
        self._store = store
        self._interval = interval_seconds
        self._pending: list[uuid.UUID] = []

    def confirmed(self, notification_id: uuid.UUID) -> None:
        """Remember that the broker confirmed ``notification_id``."""
        if len(self._pending) < MAX_PENDING_STAMPS:
            self._pending.append(notification_id)

    async def flush(self) -> None:
        """Stamp every confirmed row now; on a database error keep them for the next flush."""
        if not self._pending:
            return
        ids, self._pending = self._pending, []
        try:
            await self._store.mark_published(ids)
        except Exception:
            logger.warning("could not stamp published_at on %d rows; will retry", len(ids), exc_info=True)
            self._pending[:0] = ids[: MAX_PENDING_STAMPS - len(self._pending)]

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                await self.flush()
        finally:
            await asyncio.shield(self.flush())
