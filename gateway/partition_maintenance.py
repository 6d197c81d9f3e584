"""Keeps the monthly partitions of the notification tables (``gateway.partitions``): every pass creates the
months through three ahead of now and drops, oldest first, the months older than ``NOTIFICATIONS_RETENTION_DAYS``
whose rows are all final.

Every gateway replica runs it; a transaction-scoped advisory lock lets one replica at a time do a pass (the
others skip theirs), and each pass is idempotent. The DDL waits at most ``LOCK_TIMEOUT`` for its locks, so a
long query never makes the sends queue behind it: the pass fails and the next one tries again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from common.periodic import run_every
from gateway.partitions import MONTHS_AHEAD, STATUSES, covered_until, create_months, drop_expired, month_start
from gateway.partitions import partitions as list_partitions

logger = logging.getLogger(__name__)

ADVISORY_LOCK = 0x6E6F7469_70617274
"""The advisory lock key of a maintenance pass ("notipart")."""
LOCK_TIMEOUT = "5s"


class PartitionMaintenance:
    """Creates the partitions ahead and drops the expired ones, a pass every interval."""

    def __init__(self, pool: Any, *, retention_days: int, interval_seconds: float) -> None:
        self._pool = pool
        self._retention = timedelta(days=retention_days)
        self._interval = interval_seconds

    async def run_once(self, now: datetime | None = None) -> tuple[int, list[str]]:
        """One pass at ``now`` (default: the current time): how many partitions were created, and the names of
        those dropped. Nothing when another replica holds the pass."""
        moment = now or datetime.now(UTC)
        created = await self._locked(lambda connection: create_months(connection, moment))
        dropped = await self._locked(lambda connection: drop_expired(connection, moment - self._retention))
        if created:
            logger.info("created %d notification partitions", created)
        if dropped:
            logger.info("dropped the expired notification partitions %s", ", ".join(dropped))
        return created or 0, dropped or []

    async def _locked(self, job: Any) -> Any:
        """``job(connection)`` in a transaction holding the advisory lock; None when another holds it."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", ADVISORY_LOCK):
                return None
            await connection.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            return await job(connection)

    async def run(self) -> None:
        """A pass now, then one every interval, until cancelled."""
        try:
            await self.run_once()
        except Exception:
            logger.warning("partition maintenance pass failed", exc_info=True)
        await run_every(self._interval, self.run_once, "partition maintenance pass")


async def partitions_ready(pool: Any, now: datetime | None = None) -> bool:
    """Whether the partitions reach at least the start of the month ``MONTHS_AHEAD`` after now's: a missed
    maintenance month still leaves the gateway ready, two do not (``/ready``)."""
    async with pool.acquire() as connection:
        until = covered_until(await list_partitions(connection, STATUSES))
    return until is None or until >= month_start(now or datetime.now(UTC), MONTHS_AHEAD)
