"""The reconciler (docs/design.md §1): publishes rows still ``queued`` with no ``published_at`` some time after they
were written, which is what a gateway that died between the row and the broker's confirm leaves behind.

``FOR UPDATE SKIP LOCKED`` lets every gateway run it at once without two publishing the same row; a row a
worker has touched is no longer ``queued``, and the workers' already-delivered check makes a rare second
copy harmless.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.metrics import REPUBLISHED
from gateway.publishing import EnvelopePublisher
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

_CLAIM = """
SELECT id, channel, envelope FROM notification_statuses
WHERE status = 'queued' AND published_at IS NULL AND envelope IS NOT NULL
  AND created_at < now() - make_interval(secs => $1)
ORDER BY created_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

_STAMP = "UPDATE notification_statuses SET published_at = now() WHERE id = ANY($1::uuid[])"


class Reconciler:
    """Republishes rows that were written but never confirmed as published."""

    def __init__(
        self,
        store: NotificationStore,
        publisher: EnvelopePublisher,
        *,
        age_seconds: float,
        interval_seconds: float,
        batch_size: int,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._age = age_seconds
        self._interval = interval_seconds
        self._batch = batch_size

    async def _publish(self, channel: str, body: bytes) -> bool:
        envelope = pb.MessageEnvelope.FromString(body)
        message = self._publisher.message(envelope)
        try:
            await self._publisher.publish(message, channel)
        except Exception as error:
            logger.warning("reconciler: publish of %s failed: %s", envelope.notification_id, error)
            return False
        return True

    async def run_once(self) -> int:
        """One pass: publish up to a batch of forgotten rows and stamp those the broker confirmed."""
        async with self._store.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_CLAIM, self._age, self._batch)
            if not rows:
                return 0
            published = await asyncio.gather(*(self._publish(row["channel"], row["envelope"]) for row in rows))
            done = [row["id"] for row, ok in zip(rows, published, strict=True) if ok]
            if done:
                await connection.execute(_STAMP, done)
        for row, ok in zip(rows, published, strict=True):
            if ok:
                REPUBLISHED.labels(row["channel"]).inc()
        logger.info("reconciler: published %d of %d unpublished rows", len(done), len(rows))
        return len(done)

    async def run(self) -> None:
        """A pass every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception:
                logger.warning("reconciler pass failed", exc_info=True)
