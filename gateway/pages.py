"""The page writer (docs/design.md §7 "Later and many"): the rows of many recipients in one statement, then
their envelopes published with windowed confirms. Batch sends write their recipients with it; a topic's
fan-out writes each page of subscribers with it; the scheduler publishes the rows it moved to ``queued``
with it.

A row whose publish the broker refused stays ``queued`` and unpublished, for the reconciler to publish
(docs/design.md §1), unless no row of the page was accepted at all: then the broker is down, the page's
queued rows are deleted and :class:`PageRefused` tells the caller that nothing was queued."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika

from common.notification_tables import Status
from gateway.metrics import (
    LATE_CONFIRMS,
    NOTIFICATIONS_ACCEPTED,
    NOTIFICATIONS_SCHEDULED,
    NOTIFICATIONS_SKIPPED,
    PUBLISH_FAILURES,
)
from gateway.publishing import ConfirmPending, EnvelopePublisher, PublishedStamper
from gateway.store import NewNotification, NotificationStore

logger = logging.getLogger(__name__)

PUBLISH_WINDOW = 200
"""Publishes of one page awaiting their confirms at once: enough to keep the channel busy, few enough that
one page never floods the broker's credit."""


@dataclass(frozen=True, slots=True)
class PageRow:
    """One recipient's row, and the envelope to publish when it is ``queued`` (None for a skip)."""

    notification: NewNotification
    message: aio_pika.Message | None


@dataclass(frozen=True, slots=True)
class Publication:
    """The envelope of a committed ``queued`` row, to publish."""

    notification_id: uuid.UUID
    channel: str
    message: aio_pika.Message


class PageRefused(Exception):
    """The broker accepted none of the page's envelopes: their rows were deleted, nothing was queued."""


class PageWriter:
    """Writes pages of rows and publishes their envelopes."""

    def __init__(
        self,
        store: NotificationStore,
        publisher: EnvelopePublisher,
        stamper: PublishedStamper,
        window: int = PUBLISH_WINDOW,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._stamper = stamper
        self._window = window

    async def write(self, rows: Sequence[PageRow]) -> list[tuple[str, str | None]]:
        """Insert ``rows`` (with their first events and webhook outbox rows) in one statement, publish the
        queued ones' envelopes, and return each row's stored (status, reason) once every publish is confirmed
        (or late, or refused while others were accepted). Raises :class:`PageRefused`."""
        if not rows:
            return []
        stored = await self._store.insert_many([row.notification for row in rows])
        await self._publish_queued(list(zip(rows, stored, strict=True)))
        return stored

    async def write_new(self, rows: Sequence[PageRow]) -> None:
        """:meth:`write` for rows with deterministic ids (a fan-out's page, perhaps written before a crash): only
        the rows inserted now are published, a row that existed is left to the reconciler. Raises
        :class:`PageRefused`."""
        if not rows:
            return
        stored = await self._store.insert_new([row.notification for row in rows])
        await self._publish_queued(
            [(row, stored[row.notification.id]) for row in rows if row.notification.id in stored]
        )

    async def _publish_queued(self, written: Sequence[tuple[PageRow, tuple[str, str | None]]]) -> None:
        """Publish the rows stored ``queued``; count the others as skipped."""
        queued = []
        for row, (status, reason) in written:
            if status == Status.QUEUED and row.message is not None:
                queued.append(Publication(row.notification.id, row.notification.channel, row.message))
            elif status == Status.SCHEDULED:
                NOTIFICATIONS_SCHEDULED.labels(row.notification.channel).inc()
            else:
                NOTIFICATIONS_SKIPPED.labels(row.notification.channel, reason or "unknown").inc()
        refused = await self.publish(queued)
        if queued and len(refused) == len(queued):
            await self._store.forget_many(refused)
            raise PageRefused(f"the broker accepted none of {len(queued)} envelopes")

    async def publish(self, publications: Sequence[Publication]) -> list[uuid.UUID]:
        """Publish the envelopes of committed ``queued`` rows, at most a window awaiting their confirms at once,
        each stamped once confirmed; the ids of those the broker refused (they stay unpublished, for the
        reconciler)."""
        window = asyncio.Semaphore(self._window)
        refused = await asyncio.gather(*(self._publish_one(publication, window) for publication in publications))
        refused_ids = [p.notification_id for p, failed in zip(publications, refused, strict=True) if failed]
        if refused_ids and len(refused_ids) < len(publications):
            logger.warning("%d envelopes of a page were refused; the reconciler publishes them", len(refused_ids))
        return refused_ids

    async def _publish_one(self, publication: Publication, window: asyncio.Semaphore) -> bool:
        """Publish one row's envelope and wait for its confirm; True when the broker refused it."""
        notification_id, channel = publication.notification_id, publication.channel
        async with window:
            try:
                await self._publisher.publish(
                    publication.message, channel, lambda: self._stamper.confirmed(notification_id)
                )
            except ConfirmPending:
                LATE_CONFIRMS.labels(channel).inc()
            except Exception as error:
                PUBLISH_FAILURES.labels(channel).inc()
                logger.warning("publish of %s failed: %s: %s", notification_id, type(error).__name__, error)
                return True
            else:
                self._stamper.confirmed(notification_id)
        NOTIFICATIONS_ACCEPTED.labels(channel).inc()
        return False
