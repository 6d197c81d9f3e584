"""The partition maintenance keeps the months ahead and drops, oldest first, the expired months whose rows are
all final; two replicas running it at once neither fail nor do the work twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.ids import first_id_at
from common.migrations import migrate
from gateway.database import create_pool
from gateway.partition_maintenance import PartitionMaintenance, partitions_ready
from gateway.partitions import MONTHS_AHEAD, STATUSES, month_start, partition_name, partitions
from tests.support.migrations import empty_database

APPLICATION = uuid.uuid4()
RETENTION_DAYS = 120
_INSERT = (
    "INSERT INTO notification_statuses (id, channel, user_id, template_slug, status, application_id)"
    " VALUES ($1, 'email', $2, 'welcome', $3, $4)"
)


@pytest.fixture
def database() -> str:
    """A new notifications database at head: each test starts from the migration's partitions."""
    url = empty_database("NOTIFICATIONS_DATABASE_URL", "partition_maintenance")
    migrate("gateway:migrations", url)
    return url


@pytest.fixture
async def pool(database: str) -> AsyncIterator[Any]:
    opened = await create_pool(database, 4)
    yield opened
    await opened.close()


def id_in(month: datetime) -> uuid.UUID:
    return uuid.UUID(int=first_id_at(month + timedelta(days=1)).int | uuid.uuid4().int & ((1 << 62) - 1))


async def names(pool: Any) -> list[str]:
    async with pool.acquire() as connection:
        return [partition.name for partition in await partitions(connection, STATUSES)]


async def add(pool: Any, notification_id: uuid.UUID, status: str) -> None:
    await pool.execute(_INSERT, notification_id, uuid.uuid4(), status, APPLICATION)
    await pool.execute(
        "INSERT INTO notification_events (notification_id, status) VALUES ($1, $2)", notification_id, status
    )


async def test_months_ahead_are_created_once_as_time_passes(pool: Any) -> None:
    maintenance = PartitionMaintenance(pool, retention_days=RETENTION_DAYS, interval_seconds=3600)
    now = datetime.now(UTC)
    assert await maintenance.run_once(now) == (0, []), "the migration made the months ahead"
    assert await partitions_ready(pool, now)
    later = month_start(now, 5)
    assert not await partitions_ready(pool, later), "/ready fails when the months ahead are missing"

    created, _ = await maintenance.run_once(later)

    assert created == 2 * 5, "five months, each of both tables"
    assert partition_name(STATUSES, month_start(later, MONTHS_AHEAD)) in await names(pool)
    assert await partitions_ready(pool, later)
    assert await maintenance.run_once(later) == (0, [])


async def test_expired_months_are_dropped_only_when_every_row_is_final(pool: Any) -> None:
    now = datetime.now(UTC)
    maintenance = PartitionMaintenance(pool, retention_days=RETENTION_DAYS, interval_seconds=3600)
    await add(pool, id_in(month_start(now)), "delivered")
    pending = id_in(month_start(now, 1))
    await add(pool, pending, "queued")
    await add(pool, id_in(month_start(now, 2)), "failed")
    much_later = month_start(now, 3) + timedelta(days=RETENTION_DAYS + 1)

    _, dropped = await maintenance.run_once(much_later)

    assert dropped == ["notification_events_legacy", "notification_statuses_legacy"]
    assert (await names(pool))[0] == partition_name(STATUSES, month_start(now, 1)), "the queued row's month stays"
    assert await pool.fetchval("SELECT status FROM notification_statuses WHERE id = $1", pending) == "queued"
    assert await pool.fetchval("SELECT count(*) FROM notification_events WHERE notification_id = $1", pending) == 1

    await pool.execute("UPDATE notification_statuses SET status = 'cancelled' WHERE id = $1", pending)
    _, dropped = await maintenance.run_once(much_later)

    assert partition_name(STATUSES, month_start(now, 1)) in dropped
    assert partition_name(STATUSES, month_start(now, 2)) in dropped
    assert partition_name(STATUSES, month_start(much_later, MONTHS_AHEAD)) in await names(pool)
    assert await pool.fetchval("SELECT count(*) FROM notification_statuses") == 0
    assert await pool.fetchval("SELECT count(*) FROM notification_events") == 0
    assert await maintenance.run_once(much_later) == (0, [])


async def test_two_replicas_at_once_do_each_month_once(pool: Any) -> None:
    now = datetime.now(UTC)
    await add(pool, id_in(month_start(now)), "delivered")
    later = month_start(now, 3) + timedelta(days=RETENTION_DAYS + 1)
    replicas = [PartitionMaintenance(pool, retention_days=RETENTION_DAYS, interval_seconds=3600) for _ in range(2)]

    results = await asyncio.gather(*(replica.run_once(later) for replica in replicas))

    dropped = [name for _, names_dropped in results for name in names_dropped]
    expired = [month_start(now, months) for months in (1, 2)]
    assert sorted(dropped) == sorted(
        ["notification_events_legacy", "notification_statuses_legacy"]
        + [
            partition_name(table, month)
            for month in expired
            for table in ("notification_statuses", "notification_events")
        ]
    ), "each expired month dropped once"
    months_later = (later.year - now.year) * 12 + later.month - now.month
    assert sum(created for created, _ in results) == 2 * months_later, "each new month created once"
    assert await partitions_ready(pool, later)
