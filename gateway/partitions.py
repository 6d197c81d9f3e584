"""The monthly partitions of ``notification_statuses`` and ``notification_events`` (docs/design.md §7 "Beyond
one machine, for real"): both are range-partitioned on the notification id, and since ids are UUIDv7 a month's
partition holds the ids from the first UUIDv7 of its first millisecond to the first of the next month's.

The two tables are partitioned alike, so a month's events sit in the partition of the same bounds as its rows.
This module reads the partitions from the catalog, creates the months to come and drops the expired ones; the
migration that partitioned the tables (``0015_partitioning``) and the maintenance loop
(``gateway.partition_maintenance``) both use it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.ids import first_id_at
from common.notification_tables import is_final

STATUSES = "notification_statuses"
EVENTS = "notification_events"
PARTITIONED = (STATUSES, EVENTS)
"""The partitioned tables, parent first: a month's events reference its rows."""

MONTHS_AHEAD = 3
"""The months after the current one that always have their partitions."""

STATUSES_STORAGE = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_limit = 1000"
)
"""Each ``notification_statuses`` partition is vacuumed at 1 % dead rows (migration 0002 says why); a
partitioned parent holds no rows, so the setting lives on every partition."""

_BOUND = re.compile(r"FROM \((?P<lower>MINVALUE|'[0-9a-f-]+')\) TO \((?P<upper>MAXVALUE|'[0-9a-f-]+')\)")


PARTITIONS = (
    "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound "
    "FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = CAST($1 AS regclass)"
)
"""SQL: the name and bound of each partition of the table ``$1``."""

FORMAT = "SELECT format(CAST($1 AS text), VARIADIC CAST($2 AS text[]))"
"""SQL: a DDL statement from a template and its identifiers (``%I``) and literals (``%L``), quoted by
PostgreSQL: DDL takes no bound parameters."""

_CREATE = "CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)"
CREATE_TEMPLATES = {STATUSES: f"{_CREATE} WITH ({STATUSES_STORAGE})", EVENTS: _CREATE}
"""The ``FORMAT`` templates that create a month's partition of each table."""

_FINAL = is_final()
_HAS_PENDING = f"SELECT EXISTS (SELECT 1 FROM %I WHERE NOT ({_FINAL}))"  # noqa: S608 - constants only
_LOCK = "LOCK TABLE %I IN ACCESS EXCLUSIVE MODE"
_DROP = "DROP TABLE %I"
_DETACH = "ALTER TABLE %I DETACH PARTITION %I"

Ddl = tuple[str, list[str]]
"""A ``FORMAT`` template and its arguments."""


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition and its id range ``[lower, upper)``; None is unbounded."""

    name: str
    lower: uuid.UUID | None
    upper: uuid.UUID | None


def month_start(moment: datetime, months_later: int = 0) -> datetime:
    """Midnight UTC on the first day of ``moment``'s month, ``months_later`` months on."""
    index = moment.astimezone(UTC).year * 12 + moment.astimezone(UTC).month - 1 + months_later
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    """``notification_statuses_p202612``: the partition of ``table`` holding ``month``'s ids."""
    return f"{table}_p{month:%Y%m}"


def _bound(text: str) -> uuid.UUID | None:
    return None if text.endswith("VALUE") else uuid.UUID(text.strip("'"))


def parse_partitions(rows: Any) -> list[Partition]:
    """The partitions that rows of :data:`PARTITIONS` names, oldest first."""
    found = []
    for row in rows:
        match = _BOUND.search(row["bound"])
        if match is None:
            raise ValueError(f"{row['name']} is not a range partition: {row['bound']}")
        found.append(Partition(row["name"], _bound(match["lower"]), _bound(match["upper"])))
    return sorted(found, key=lambda partition: (partition.lower is not None, partition.lower or uuid.UUID(int=0)))


async def partitions(connection: Any, table: str) -> list[Partition]:
    """The partitions of ``table``, oldest first."""
    return parse_partitions(await connection.fetch(PARTITIONS, table))


async def execute(connection: Any, ddl: Ddl) -> None:
    """Run one DDL statement, made by PostgreSQL's ``format`` from ``ddl``."""
    template, arguments = ddl
    await connection.execute(await connection.fetchval(FORMAT, template, arguments))


def covered_until(statuses: list[Partition]) -> datetime | None:
    """The first moment whose ids none of the ``notification_statuses`` partitions ``statuses`` takes (None:
    no end)."""
    if not statuses:
        return datetime.min.replace(tzinfo=UTC)
    uppers = [partition.upper for partition in statuses]
    if None in uppers:
        return None
    return datetime.fromtimestamp(max(upper.int >> 80 for upper in uppers if upper is not None) / 1000, UTC)


def month_statements(statuses: list[Partition], now: datetime) -> list[Ddl]:
    """The DDL that creates the partitions of both tables for every month from the end of the existing
    ``notification_statuses`` partitions ``statuses`` through :data:`MONTHS_AHEAD` months after ``now``'s."""
    statements: list[Ddl] = []
    until = covered_until(statuses)
    if until is None or not statuses:
        return statements
    month = month_start(until)
    while month < month_start(now, MONTHS_AHEAD + 1):
        after = month_start(month, 1)
        bounds = [str(first_id_at(month)), str(first_id_at(after))]
        for table in PARTITIONED:
            statements.append((CREATE_TEMPLATES[table], [partition_name(table, month), table, *bounds]))
        month = after
    return statements


async def create_months(connection: Any, now: datetime) -> int:
    """Create the partitions :func:`month_statements` names; how many."""
    statements = month_statements(await partitions(connection, STATUSES), now)
    for statement in statements:
        await execute(connection, statement)
    return len(statements)


async def drop_expired(connection: Any, cutoff: datetime) -> list[str]:
    """Drop, oldest first, each month of both tables whose ids all predate ``cutoff`` and whose rows are all
    final; stop at the first month that still holds a row a worker may send. The names dropped.

    Run inside a transaction: the partitions are locked (ACCESS EXCLUSIVE) before they are looked at, so no row
    changes between the look and the drop."""
    events = {partition.upper: partition for partition in await partitions(connection, EVENTS)}
    dropped: list[str] = []
    for partition in await partitions(connection, STATUSES):
        if partition.upper is None or partition.upper > first_id_at(cutoff):
            break
        paired = events.get(partition.upper)
        names = [name for name in (paired.name if paired else None, partition.name) if name]
        for name in names:
            await execute(connection, (_LOCK, [name]))
        if await connection.fetchval(await connection.fetchval(FORMAT, _HAS_PENDING, [partition.name])):
            break
        if paired is not None:
            await execute(connection, (_DROP, [paired.name]))
        await execute(connection, (_DETACH, [STATUSES, partition.name]))
        await execute(connection, (_DROP, [partition.name]))
        dropped.extend(names)
    return dropped
