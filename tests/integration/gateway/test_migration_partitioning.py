"""Migration 0015 turns the populated ``notification_statuses`` and ``notification_events`` into the legacy
partitions of tables partitioned by month of the notification id, without rewriting them, and back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from common.db import plain_url
from common.ids import first_id_at, new_notification_id
from common.migrations import downgrade, migrate
from gateway.partitions import MONTHS_AHEAD, month_start, partition_name
from tests.support.migrations import database_at, fetch

HISTORY = "gateway:migrations"
APPLICATION = uuid.uuid4()
ROWS = 20

_INSERT = (
    "INSERT INTO notification_statuses (id, channel, user_id, template_slug, status, application_id)"
    " VALUES ($1, 'email', $2, 'welcome', $3, $4) ON CONFLICT (id) DO NOTHING"
)
_SHAPE = """
SELECT c.relname, c.relkind::text AS kind, c.relfilenode
FROM pg_class AS c WHERE c.relname IN ('notification_statuses', 'notification_events')
"""
LATER_REVISIONS = [
    "ALTER TABLE notification_statuses ADD COLUMN category text NOT NULL DEFAULT 'transactional'",
    "CREATE INDEX ix_notification_statuses_category_id ON notification_statuses (category, id)",
    "CREATE TABLE notification_notes (notification_id uuid REFERENCES notification_statuses (id) ON DELETE CASCADE)",
]
_REFERENCED = (
    "SELECT confrelid::regclass::text AS referenced FROM pg_constraint"
    " WHERE conrelid = 'notification_notes'::regclass AND contype = 'f' AND conparentid = 0"
)
_INDEXES = "SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname"


async def populate(url: str) -> list[uuid.UUID]:
    connection = await asyncpg.connect(plain_url(url))
    ids = []
    try:
        await connection.execute("INSERT INTO applications (id, name) VALUES ($1, 'partitioned')", APPLICATION)
        for index in range(ROWS):
            notification_id = new_notification_id()
            await connection.execute(_INSERT, notification_id, uuid.uuid4(), "delivered", APPLICATION)
            await connection.execute(
                "INSERT INTO notification_events (notification_id, status, attempt) VALUES ($1, 'queued', $2)",
                notification_id,
                index,
            )
            ids.append(notification_id)
    finally:
        await connection.close()
    return ids


def shape(url: str) -> dict[str, tuple[str, int]]:
    return {row["relname"]: (row["kind"], row["relfilenode"]) for row in asyncio.run(fetch(url, _SHAPE))}


def indexes(url: str, table: str) -> list[str]:
    return [row["indexname"] for row in asyncio.run(fetch(url, _INDEXES, table))]


def test_the_tables_become_partitioned_without_a_rewrite_and_back() -> None:
    url = database_at(HISTORY, "NOTIFICATIONS_DATABASE_URL", "0011", "before_partitioning")
    ids = asyncio.run(populate(url))
    for statement in LATER_REVISIONS:  # what revisions between 0011 and 0015 may add
        asyncio.run(fetch(url, statement))
    before = shape(url)
    statuses_indexes = indexes(url, "notification_statuses")
    events_before = asyncio.run(fetch(url, "SELECT * FROM notification_events ORDER BY id"))

    migrate(HISTORY, url, "0015")

    after = shape(url)
    assert after["notification_statuses"][0] == after["notification_events"][0] == "p"
    legacy = {
        row["relname"]: row["relfilenode"]
        for row in asyncio.run(
            fetch(url, _SHAPE.replace("IN (", "IN ('notification_statuses_legacy', 'notification_events_legacy', "))
        )
    }
    assert legacy["notification_statuses_legacy"] == before["notification_statuses"][1], "not rewritten"
    assert legacy["notification_events_legacy"] == before["notification_events"][1], "not rewritten"
    assert indexes(url, "notification_statuses") == statuses_indexes
    rows = asyncio.run(fetch(url, "SELECT id FROM notification_statuses ORDER BY id"))
    assert [row["id"] for row in rows] == ids
    assert asyncio.run(fetch(url, "SELECT * FROM notification_events ORDER BY id")) == events_before
    now = datetime.now(UTC)
    tables = {row["relname"] for row in asyncio.run(fetch(url, "SELECT relname FROM pg_class"))}
    for months in range(1, MONTHS_AHEAD + 1):
        for table in ("notification_statuses", "notification_events"):
            assert partition_name(table, month_start(now, months)) in tables

    assert [row["referenced"] for row in asyncio.run(fetch(url, _REFERENCED))] == ["notification_statuses"]
    next_month = uuid.UUID(int=first_id_at(month_start(now, 1)).int | 1)
    asyncio.run(fetch(url, _INSERT, next_month, uuid.uuid4(), "queued", APPLICATION))
    asyncio.run(fetch(url, _INSERT, next_month, uuid.uuid4(), "failed", APPLICATION))  # ON CONFLICT (id)
    asyncio.run(
        fetch(url, "INSERT INTO notification_events (notification_id, status) VALUES ($1, 'queued')", next_month)
    )
    asyncio.run(fetch(url, "INSERT INTO notification_notes VALUES ($1)", next_month))
    categories = asyncio.run(fetch(url, "SELECT DISTINCT category FROM notification_statuses"))
    assert [row["category"] for row in categories] == ["transactional"]
    placed = asyncio.run(
        fetch(
            url, "SELECT tableoid::regclass::text AS part, status FROM notification_statuses WHERE id = $1", next_month
        )
    )
    assert [(row["part"], row["status"]) for row in placed] == [
        (partition_name("notification_statuses", month_start(now, 1)), "queued")
    ]
    asyncio.run(fetch(url, "DELETE FROM notification_statuses WHERE id = $1", ids[0]))
    assert asyncio.run(fetch(url, "SELECT 1 FROM notification_events WHERE notification_id = $1", ids[0])) == []

    downgrade(HISTORY, url, "0011")

    back = shape(url)
    assert back["notification_statuses"] == before["notification_statuses"]
    assert back["notification_events"][0] == "r"
    assert indexes(url, "notification_statuses") == statuses_indexes
    assert [row["referenced"] for row in asyncio.run(fetch(url, _REFERENCED))] == ["notification_statuses"]
    rows = asyncio.run(fetch(url, "SELECT id FROM notification_statuses ORDER BY id"))
    assert [row["id"] for row in rows] == [*ids[1:], next_month]
    primary_key = asyncio.run(
        fetch(
            url,
            "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint"
            " WHERE conname = 'notification_events_pkey'",
        )
    )
    assert [row["definition"] for row in primary_key] == ["PRIMARY KEY (id)"]
    sequence = asyncio.run(fetch(url, "SELECT pg_get_serial_sequence('notification_events', 'id') AS name"))
    assert sequence[0]["name"] == "public.notification_events_id_seq"
    asyncio.run(
        fetch(url, "INSERT INTO notification_events (notification_id, status) VALUES ($1, 'sending')", next_month)
    )

    migrate(HISTORY, url, "0015")
    assert shape(url)["notification_statuses"][0] == "p"
