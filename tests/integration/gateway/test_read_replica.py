"""Reads by id on a read replica (docs/design.md §7): a private primary (``initdb``) and its streaming replica
(``pg_basebackup -R``) on spare ports, the notifications database migrated on the primary and replicated.

The replica's replay is paused to tell the two apart: what the replica answers then is what it had before."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from common.ids import first_id_at, new_notification_id
from common.migrations import migrate
from devstack.postgres_replica import PrimaryAndReplica, primary_and_replica
from gateway.database import create_pool
from gateway.store import NotificationStore

DATABASE = "replica_notifications"
APPLICATION = uuid.uuid4()

_INSERT = (
    "INSERT INTO notification_statuses (id, channel, user_id, template_slug, status, application_id)"
    " VALUES ($1, 'email', $2, 'welcome', $3, $4)"
)


async def caught_up(servers: PrimaryAndReplica) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    primary = await asyncpg.connect(servers.primary.url("postgres"))
    replica = await asyncpg.connect(servers.replica.url("postgres"))
    try:
        written = await primary.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + 30
        while await replica.fetchval("SELECT pg_wal_lsn_diff($1, pg_last_wal_replay_lsn())", written) > 0:
            assert time.monotonic() < deadline, "the replica never caught up"
            await asyncio.sleep(0.05)
    finally:
        await replica.close()
        await primary.close()


@pytest.fixture(scope="session")
def servers() -> Iterator[PrimaryAndReplica]:
    with primary_and_replica() as running:
        migrate("gateway:migrations", running.primary.url(DATABASE))
        asyncio.run(caught_up(running))
        yield running


@pytest.fixture
async def pools(servers: PrimaryAndReplica) -> AsyncIterator[tuple[Any, Any]]:
    primary = await create_pool(servers.primary.url(DATABASE), 2)
    replica = await create_pool(servers.replica.url(DATABASE), 2)
    yield primary, replica
    await replica.execute("SELECT pg_wal_replay_resume()")
    await replica.close()
    await primary.close()


def old_id() -> uuid.UUID:
    """A UUIDv7 of a minute ago: its reads go to the replica."""
    base = first_id_at(datetime.now(UTC) - timedelta(minutes=1))
    return uuid.UUID(int=base.int | uuid.uuid4().int & ((1 << 62) - 1))


async def replicated(replica: Any, notification_id: uuid.UUID) -> None:
    """Wait until the replica has the row."""
    deadline = time.monotonic() + 10
    while await replica.fetchval("SELECT 1 FROM notification_statuses WHERE id = $1", notification_id) is None:
        assert time.monotonic() < deadline, "the row never reached the replica"
        await asyncio.sleep(0.05)


async def test_the_replica_is_read_only_and_streams(pools: tuple[Any, Any]) -> None:
    primary, replica = pools
    assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await replica.execute(_INSERT, old_id(), uuid.uuid4(), "queued", APPLICATION)
    assert await primary.fetchval("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1


async def test_an_old_id_is_read_from_the_replica(pools: tuple[Any, Any]) -> None:
    primary, replica = pools
    store = NotificationStore(primary, read_pool=replica)
    notification_id = old_id()
    await primary.execute(_INSERT, notification_id, uuid.uuid4(), "queued", APPLICATION)
    await replicated(replica, notification_id)
    await replica.execute("SELECT pg_wal_replay_pause()")
    await primary.execute("UPDATE notification_statuses SET status = 'delivered' WHERE id = $1", notification_id)

    found = await store.get(APPLICATION, notification_id)

    assert found is not None
    assert found["status"] == "queued", "the replica answered, with what it had replicated"
    assert await store.events(APPLICATION, notification_id) == []
    assert await NotificationStore(primary).get(APPLICATION, notification_id) == {**found, "status": "delivered"}


async def test_a_fresh_write_is_read_back_from_the_primary(pools: tuple[Any, Any]) -> None:
    primary, replica = pools
    store = NotificationStore(primary, read_pool=replica)
    await replica.execute("SELECT pg_wal_replay_pause()")
    notification_id = new_notification_id()
    await primary.execute(_INSERT, notification_id, uuid.uuid4(), "queued", APPLICATION)

    found = await store.get(APPLICATION, notification_id)

    assert found is not None
    assert found["notification_id"] == notification_id
    assert await replica.fetchval("SELECT 1 FROM notification_statuses WHERE id = $1", notification_id) is None


async def test_an_old_id_the_replica_lacks_is_read_from_the_primary(pools: tuple[Any, Any]) -> None:
    primary, replica = pools
    store = NotificationStore(primary, read_pool=replica)
    await replica.execute("SELECT pg_wal_replay_pause()")
    notification_id = old_id()
    await primary.execute(_INSERT, notification_id, uuid.uuid4(), "delivered", APPLICATION)

    found = await store.get(APPLICATION, notification_id)

    assert found is not None
    assert found["status"] == "delivered"
    assert await store.get(uuid.uuid4(), notification_id) is None


async def test_an_unreachable_replica_falls_back_to_the_primary(
    pools: tuple[Any, Any], servers: PrimaryAndReplica
) -> None:
    primary, _ = pools
    dead = await create_pool(servers.replica.url(DATABASE), 1)
    await dead.close()
    store = NotificationStore(primary, read_pool=dead)
    notification_id = old_id()
    await primary.execute(_INSERT, notification_id, uuid.uuid4(), "delivered", APPLICATION)

    found = await store.get(APPLICATION, notification_id)

    assert found is not None
    assert found["status"] == "delivered"
