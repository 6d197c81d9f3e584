"""Rendered content (one-time codes, reset links) is kept ``NOTIFICATIONS_CONTENT_DAYS`` after a notification's
final status, then erased: the envelope bytes of its row are nulled (docs/design.md §3 PostgreSQL). The status
and its history stay, so the REST reads answer as before.

Every gateway replica runs :class:`ContentEraser`; ``FOR UPDATE SKIP LOCKED`` keeps two of them (and the
workers) off the same rows, and it never waits for a lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from common.ids import first_id_at
from common.notification_tables import is_final
from common.periodic import run_every

logger = logging.getLogger(__name__)

_FINAL = is_final()

_ERASE_CONTENT = f"""
WITH due AS (
    SELECT id FROM notification_statuses
    WHERE envelope IS NOT NULL AND id < $1 AND {_FINAL} AND updated_at < now() - make_interval(days => $2)
    ORDER BY id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE notification_statuses AS s SET envelope = NULL FROM due WHERE s.id = due.id
"""  # noqa: S608 - constants only
"""One batch, oldest first. A row final for that long was created at least as long ago, so only ids older than
the cutoff (``$1``) are looked at: the scan of the partial index on rows with content stops there."""


class ContentEraser:
    """Nulls the envelope of rows final for more than ``days`` days, a batch per statement."""

    def __init__(self, pool: Any, *, days: int, interval_seconds: float, batch_size: int) -> None:
        self._pool = pool
        self._days = days
        self._interval = interval_seconds
        self._batch = batch_size

    async def run_once(self) -> int:
        """Erase the content of every row that is due; answers how many."""
        erased = 0
        while True:
            cutoff = first_id_at(datetime.now(UTC) - timedelta(days=self._days))
            status = await self._pool.execute(_ERASE_CONTENT, cutoff, self._days, self._batch)
            count = int(status.rsplit(" ", 1)[-1])
            erased += count
            if count < self._batch:
                break
        if erased:
            logger.info("erased the content of %d notifications final for over %d days", erased, self._days)
        return erased

    async def run(self) -> None:
        """A pass every interval until cancelled."""
        await run_every(self._interval, self.run_once, "content erasure pass")
