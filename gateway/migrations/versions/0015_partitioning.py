"""partition notification_statuses and notification_events by month of the notification id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Both tables grow forever; partitioned by month of the (UUIDv7, time-ordered) notification id, an expired month
is dropped whole instead of deleted row by row (docs/design.md §7 "Beyond one machine, for real").

Nothing is rewritten: each existing table is renamed ``<table>_legacy`` and attached to a new partitioned
parent of the old name as the partition of every id before the next month's first. A CHECK constraint of that
range, added NOT VALID and then validated (a scan under a lock that lets reads and writes go on), lets the
ATTACH skip its own scan. The parent's indexes are created with the old names and adopt the legacy table's
matching ones. Then the partitions of the next three months are created.

What it costs: ``notification_events`` gets the primary key ``(notification_id, id)`` (a primary key of a
partitioned table holds its partition key), an index built on the legacy table that replaces the index of
the same columns, and its foreign key to
``notification_statuses`` is validated again (a scan). The migration reads the tables' columns, indexes and
constraints from the catalog, so columns or indexes added by earlier revisions come along.

Downgrade moves the rows of the monthly partitions back into the legacy tables and gives them their names back.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from common.ids import first_id_at
from gateway.partitions import (
    EVENTS,
    FORMAT,
    PARTITIONED,
    PARTITIONS,
    STATUSES,
    month_start,
    month_statements,
    parse_partitions,
)

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITION_KEYS = {STATUSES: "id", EVENTS: "notification_id"}
PRIMARY_KEYS = {STATUSES: "id", EVENTS: "notification_id, id"}
FORMER_PRIMARY_KEYS = {STATUSES: "id", EVENTS: "id"}
LEGACY = "_legacy"
EVENTS_INDEX = "ix_notification_events_notification_id_id"
"""The events' index of ``(notification_id, id)``: the new primary key is the same index, so it goes."""

_INDEXES = """
SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
WHERE x.indrelid = CAST(:table AS regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.oid AND c.conrelid = x.indrelid)
"""
"""The indexes of a table that no constraint owns."""

_CONSTRAINTS = """
SELECT c.conname AS name, c.conrelid::regclass::text AS owner, c.contype AS kind,
       pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint AS c
WHERE c.conparentid = 0 AND (
    (c.conrelid = CAST(:table AS regclass) AND c.contype IN ('f', 'u'))
    OR (c.confrelid = CAST(:table AS regclass) AND c.contype = 'f'))
"""
"""The unique and foreign keys of a table, and the foreign keys of other tables that reference it."""

_SERIALS = """
SELECT a.attname AS column_name, pg_get_serial_sequence(CAST(:table AS text), a.attname) AS sequence
FROM pg_attribute AS a
WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
"""


def _rows(statement: str, **arguments: str) -> list[dict[str, str]]:
    return [dict(row._mapping) for row in op.get_bind().execute(text(statement), arguments)]


def _own_sequences(table: str, owner: str) -> None:
    """Hand the sequences of ``table``'s serial columns to the same columns of ``owner``: dropping the legacy
    partition must not drop the id sequence the parent's default uses."""
    for row in _rows(_SERIALS, table=table):
        if row["sequence"]:
            op.execute(f"ALTER SEQUENCE {row['sequence']} OWNED BY {owner}.{row['column_name']}")


def _keys() -> list[dict[str, str]]:
    """The unique and foreign keys of both tables and those referencing them, each once."""
    found = {(row["owner"], row["name"]): row for table in PARTITIONED for row in _rows(_CONSTRAINTS, table=table)}
    return list(found.values())


def _drop(constraints: list[dict[str, str]]) -> None:
    for constraint in constraints:
        op.execute(f'ALTER TABLE {constraint["owner"]} DROP CONSTRAINT "{constraint["name"]}"')


def _add(constraints: list[dict[str, str]]) -> None:
    """Add the constraints again, by the names they had: the tables' names are the same as before."""
    for constraint in constraints:
        op.execute(
            f'ALTER TABLE {constraint["owner"]} ADD CONSTRAINT "{constraint["name"]}" {constraint["definition"]}'
        )


def _partition(table: str, bound: str) -> None:
    """Make ``table`` the legacy partition, of the ids before ``bound``, of a new partitioned ``table``."""
    legacy = table + LEGACY
    key = PARTITION_KEYS[table]
    indexes = _rows(_INDEXES, table=table)
    op.execute(f"ALTER TABLE {table} RENAME TO {legacy}")
    for index in indexes:
        op.execute(f'ALTER INDEX "{index["name"]}" RENAME TO "{index["name"]}{LEGACY}"')
    if PRIMARY_KEYS[table] == FORMER_PRIMARY_KEYS[table]:
        op.execute(f"ALTER TABLE {legacy} RENAME CONSTRAINT {table}_pkey TO {legacy}_pkey")
    else:
        op.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {table}_pkey")
    op.execute(
        f"CREATE TABLE {table} (LIKE {legacy} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS"
        f" INCLUDING STORAGE INCLUDING GENERATED INCLUDING IDENTITY) PARTITION BY RANGE ({key})"
    )
    _own_sequences(legacy, table)
    op.execute(f"ALTER TABLE {legacy} ADD CONSTRAINT {legacy}_range CHECK ({key} < '{bound}') NOT VALID")
    op.execute(f"ALTER TABLE {legacy} VALIDATE CONSTRAINT {legacy}_range")
    op.execute(f"ALTER TABLE {table} ATTACH PARTITION {legacy} FOR VALUES FROM (MINVALUE) TO ('{bound}')")
    op.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {legacy}_range")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({PRIMARY_KEYS[table]})")
    for index in indexes:
        op.execute(index["definition"])


def upgrade() -> None:
    op.execute(f"LOCK TABLE {', '.join(PARTITIONED)} IN ACCESS EXCLUSIVE MODE")
    newest = op.get_bind().execute(text(f"SELECT id FROM {STATUSES} ORDER BY id DESC LIMIT 1")).scalar()  # noqa: S608 - constant
    now = datetime.now(UTC)
    if newest is not None:
        now = max(now, datetime.fromtimestamp((newest.int >> 80) / 1000, UTC))
    keys = _keys()
    _drop(keys)
    for table in PARTITIONED:
        _partition(table, str(first_id_at(month_start(now, 1))))
    _add(keys)
    op.execute(f"DROP INDEX {EVENTS_INDEX}")
    bind = op.get_bind()
    rows = bind.execute(text(PARTITIONS.replace("$1", ":table")), {"table": STATUSES}).mappings()
    for template, arguments in month_statements(parse_partitions(rows), now):
        formatted = {"template": template, "arguments": arguments}
        op.execute(
            str(bind.execute(text(FORMAT.replace("$1", ":template").replace("$2", ":arguments")), formatted).scalar())
        )


def _unpartition(table: str) -> None:
    """Detach the legacy partition of ``table``, move the other partitions' rows into it, and give it the
    table's name back."""
    legacy = table + LEGACY
    indexes = [index for index in _rows(_INDEXES, table=legacy) if index["name"].endswith(LEGACY)]
    op.execute(f"ALTER TABLE {table} DETACH PARTITION {legacy}")
    op.execute(f"INSERT INTO {legacy} SELECT * FROM {table}")  # noqa: S608 - constant names
    _own_sequences(table, legacy)
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {legacy} RENAME TO {table}")
    for index in indexes:
        op.execute(f'ALTER INDEX "{index["name"]}" RENAME TO "{index["name"].removesuffix(LEGACY)}"')
    if PRIMARY_KEYS[table] == FORMER_PRIMARY_KEYS[table]:
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {legacy}_pkey TO {table}_pkey")
    else:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {legacy}_pkey")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({FORMER_PRIMARY_KEYS[table]})")


def downgrade() -> None:
    op.execute(f"LOCK TABLE {', '.join(PARTITIONED)} IN ACCESS EXCLUSIVE MODE")
    keys = _keys()
    _drop(keys)
    for table in PARTITIONED:
        _unpartition(table)
    _add(keys)
    op.execute(f"CREATE INDEX {EVENTS_INDEX} ON {EVENTS} (notification_id, id)")
