"""The reconciler (docs/design.md §1): publishes what nobody else will.

- Rows still ``queued`` with no ``published_at`` some time after they were last written: what a gateway that
  died between the row and the broker's confirm leaves behind, one whose confirm never came, or a DLQ replay
  that died between resetting a row and publishing it.
- Rows ``sending`` whose lease lapsed more than :data:`LAPSED_LEASE_SECONDS` ago: a worker took them and
  vanished, and no copy came back to claim them (a killed worker's own messages come back long before).

Each row is published once per decision: a confirmed publish, or one whose confirm is late ("maybe
published": the broker may hold it), stamps ``published_at`` on a queued row, so later passes leave it to the
workers; should that late confirm fail after all, the stamp is taken back at the next pass and the row is
published again. A lapsed ``sending`` row has its lease dated now, so it is published again only if it lapses
once more unclaimed. A publish refused at once changes nothing: the next pass tries again.

``FOR UPDATE SKIP LOCKED`` lets every gateway run it at once without two publishing the same row (it never
waits for a lock, so it needs no lock order); the workers' claims make a second copy harmless.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from common.notification_tables import lease_expired
from common.periodic import run_every
from gateway.metrics import REPUBLISHED
from gateway.publishing import ConfirmPending, EnvelopePublisher
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

LAPSED_LEASE_SECONDS = 60.0
"""How long a ``sending`` row's lease must have lapsed before the reconciler publishes it again."""

_UNPUBLISHED = """
SELECT id, channel, envelope, 0 AS attempts FROM notification_statuses
WHERE status = 'queued' AND published_at IS NULL AND envelope IS NOT NULL
  AND updated_at < now() - make_interval(secs => $1)
ORDER BY created_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

_STAMP = "UPDATE notification_statuses SET published_at = now() WHERE id = ANY($1::uuid[]) AND status = 'queued'"

_UNSTAMP = "UPDATE notification_statuses SET published_at = NULL WHERE id = ANY($1::uuid[]) AND status = 'queued'"
"""Takes back the stamp of rows whose late confirm failed (a row a worker claimed meanwhile keeps it)."""

_LAPSED = """
SELECT id, channel, envelope, attempts FROM notification_statuses
WHERE status = 'sending' AND lease_until < now() - make_interval(secs => $1) AND envelope IS NOT NULL
ORDER BY lease_until
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

_LEASE_EXPIRED = lease_expired("s")

_DATE_LEASE = f"""
UPDATE notification_statuses AS s SET lease_until = now()
WHERE s.id = ANY($1::uuid[]) AND s.status = 'sending' AND {_LEASE_EXPIRED}
"""  # noqa: S608 - constants only
"""The status stays ``sending`` with a lapsed lease (a copy claims it at once); only the next republish waits."""


class Published(Enum):
    """What became of one publish."""

    CONFIRMED = "confirmed"
    MAYBE = "maybe"
    """No confirm in time: the broker may hold it, and the confirm is awaited in the background."""
    REFUSED = "refused"


class Reconciler:
    """Republishes rows that were written but never confirmed as published, and claims that lapsed."""

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
        self._unconfirmed: set[uuid.UUID] = set()
        """Rows stamped on a late confirm that then failed: unstamped at the next pass."""

    async def _publish(self, row: Any, on_late_failure: Callable[[], None] | None) -> Published:
        envelope = pb.MessageEnvelope.FromString(row["envelope"])
        envelope.attempt = row["attempts"]
        message = self._publisher.message(envelope)
        try:
            await self._publisher.publish(message, row["channel"], on_late_failure=on_late_failure)
        except ConfirmPending:
            logger.warning("reconciler: no confirm for %s in time; counted as published", envelope.notification_id)
            return Published.MAYBE
        except Exception as error:
            logger.warning("reconciler: publish of %s failed: %s", envelope.notification_id, error)
            return Published.REFUSED
        return Published.CONFIRMED

    def _late_failure(self, row: Any) -> Callable[[], None]:
        return lambda: self._unconfirmed.add(row["id"])

    async def _republish(self, select: str, mark: str, age: float, *, unstamp_on_late_failure: bool) -> int:
        """Publish up to a batch of the rows ``select`` finds and ``mark`` those published (or maybe)."""
        async with self._store.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(select, age, self._batch)
            if not rows:
                return 0
            outcomes = await asyncio.gather(
                *(self._publish(row, self._late_failure(row) if unstamp_on_late_failure else None) for row in rows)
            )
            done = [row for row, outcome in zip(rows, outcomes, strict=True) if outcome is not Published.REFUSED]
            if done:
                await connection.execute(mark, [row["id"] for row in done])
        for row in done:
            REPUBLISHED.labels(row["channel"]).inc()
        logger.info("reconciler: published %d of %d rows", len(done), len(rows))
        return len(done)

    async def _take_back_stamps(self) -> None:
        if not self._unconfirmed:
            return
        ids, self._unconfirmed = self._unconfirmed, set()
        try:
            await self._store.pool.execute(_UNSTAMP, list(ids))
        except BaseException:
            self._unconfirmed |= ids
            raise

    async def run_once(self) -> int:
        """One pass: take back the stamps of failed late confirms, then publish up to a batch of unpublished
        rows and a batch of lapsed claims; answers how many were published."""
        await self._take_back_stamps()
        published = await self._republish(_UNPUBLISHED, _STAMP, self._age, unstamp_on_late_failure=True)
        return published + await self._republish(
            _LAPSED, _DATE_LEASE, LAPSED_LEASE_SECONDS, unstamp_on_late_failure=False
        )

    async def run(self) -> None:
        """A pass every interval until cancelled."""
        await run_every(self._interval, self.run_once, "reconciler pass")
