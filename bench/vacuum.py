"""Standing in for autovacuum where the box's PostgreSQL runs without it.

Every notification's row is updated three times (published_at stamped, claimed, delivered). Without vacuum the
dead versions pile up and every lookup by id walks them: on this box (``autovacuum = off``, which no production
server runs with) the workers' Postgres cost per delivery grew several-fold over a run. So when the server has
autovacuum off, the bench takes autovacuum's decisions itself every few seconds: each table of its
notifications database is vacuumed and analyzed when autovacuum's formula says so, with the table's own
thresholds (migration ``0002``: 1 % dead rows) or the server's; the time it takes is Postgres CPU like any other
and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import asyncpg

logger = logging.getLogger(__name__)

DUE = """
SELECT format('%I', c.relname) AS name, s.n_dead_tup, s.n_mod_since_analyze, s.n_ins_since_vacuum,
       greatest(c.reltuples, 0) AS tuples, coalesce(c.reloptions, '{}') AS options
FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
WHERE c.relkind = 'r'
"""
"""Every table of the database with autovacuum's counters (partitioned parents are never autovacuumed)."""
SETTINGS = (
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
)


def _work(row: asyncpg.Record, defaults: dict[str, float]) -> str | None:
    """``VACUUM``, ``ANALYZE`` or ``VACUUM (ANALYZE)`` of one table when autovacuum's formula (the table's own
    ``autovacuum_*`` storage parameters, else the server's) says it is due; None when nothing is."""
    own = dict(option.split("=", 1) for option in row["options"])

    def setting(name: str) -> float:
        return float(own.get(name, defaults[name]))

    tuples = row["tuples"]
    vacuum = (
        row["n_dead_tup"] > setting(SETTINGS[0]) + setting(SETTINGS[1]) * tuples
        or row["n_ins_since_vacuum"] > setting(SETTINGS[4]) + setting(SETTINGS[5]) * tuples
    )
    analyze = row["n_mod_since_analyze"] > setting(SETTINGS[2]) + setting(SETTINGS[3]) * tuples
    if vacuum and analyze:
        return f"VACUUM (ANALYZE) {row['name']}"
    if vacuum:
        return f"VACUUM {row['name']}"
    return f"ANALYZE {row['name']}" if analyze else None


@dataclass
class Vacuumer:
    """Autovacuum's decisions, taken every ``interval`` seconds (a naptime tuned for tables this busy) over every
    table of the bench's notifications database while the server's autovacuum is off."""

    url: str
    interval: float = 10.0
    passes: int = 0
    """Tables vacuumed or analyzed."""
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
                try:
                    if connection is None or connection.is_closed():
                        connection = await asyncpg.connect(self.url)
                    defaults = {name: float(await connection.fetchval(f"SHOW {name}")) for name in SETTINGS}
                    for row in await connection.fetch(DUE):
                        if (work := _work(row, defaults)) is not None:
                            started = time.monotonic()
                            await connection.execute(work)
                            self.passes += 1
                            self.seconds += time.monotonic() - started
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                    logger.warning("bench vacuum failed: %s", error)
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
