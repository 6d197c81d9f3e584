"""Standing in for autovacuum where the box's PostgreSQL runs without it.

Every notification's row is updated three times (published_at stamped, claimed, delivered). Without vacuum the
dead versions pile up and every lookup by id walks them: on this box (``autovacuum = off``, which no production
server runs with) the workers' Postgres cost per delivery grew several-fold over a run. So when the server has
autovacuum off, the bench vacuums and analyzes its notifications database every few seconds itself, as an
autovacuum tuned for such a table would; the time it takes is Postgres CPU like any other and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import asyncpg

logger = logging.getLogger(__name__)

TABLES = ("notification_statuses", "notification_events")


@dataclass
class Vacuumer:
    """``VACUUM (ANALYZE)`` of the churning tables every ``interval`` seconds while autovacuum is off."""

    url: str
    interval: float = 10.0
    passes: int = 0
    seconds: float = 0.0
    autovacuum: str = "?"
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Read the server's ``autovacuum`` setting; run the passes only when it is off."""
        connection = await asyncpg.connect(self.url)
        try:
            self.autovacuum = str(await connection.fetchval("SHOW autovacuum"))
        finally:
            await connection.close()
        if self.autovacuum == "off":
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        connection: asyncpg.Connection | None = None
        try:
            while True:
                await asyncio.sleep(self.interval)
                started = time.monotonic()
                try:
                    if connection is None or connection.is_closed():
                        connection = await asyncpg.connect(self.url)
                    await connection.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                    logger.warning("bench vacuum failed: %s", error)
                    continue
                self.passes += 1
                self.seconds += time.monotonic() - started
        finally:
            if connection is not None:
                await connection.close()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def summary(self) -> dict[str, object]:
        """What the report says about it."""
        return {"server_autovacuum": self.autovacuum, "bench_passes": self.passes, "bench_seconds": self.seconds}
