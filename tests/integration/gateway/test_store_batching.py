"""Concurrent sends share INSERT statements: every row and first event is written as if alone, a suppressed
address in a batch is skipped on its own, and a row the database refuses fails only its own send. (The rows
are deleted afterwards: queued rows without ``published_at`` would be the reconciler's to publish.)"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.ids import new_notification_id
from gateway.publishing import PublishedStamper
from gateway.store import NewNotification, NotificationStore
from tests.integration.gateway.harness import Gateway


@pytest.fixture
async def store(gateway: Gateway) -> AsyncIterator[NotificationStore]:
    """The gateway's store; every row written through it here is deleted afterwards."""
    found: NotificationStore = gateway.resources.store
    yield found
    await found.pool.execute("DELETE FROM notification_statuses WHERE request_id = 'req-batch'")


def notification(**changes: Any) -> NewNotification:
    values: dict[str, Any] = {
        "id": new_notification_id(),
        "channel": "email",
        "user_id": uuid.uuid4(),
        "template_slug": "welcome",
        "template_version": 1,
        "template_locale": "en",
        "priority": "normal",
        "application_id": DEFAULT_APPLICATION_ID,
        "status": "queued",
        "reason": None,
        "request_id": "req-batch",
        "metadata": {"k": "v"},
        "envelope": b"\x01\x02",
        "expires_at": None,
        "created_at": datetime.now(UTC),
        "email_address": f"batch-{uuid.uuid4().hex[:8]}@example.com",
    }
    values.update(changes)
    return NewNotification(**values)


async def test_concurrent_creates_are_each_written_with_their_first_event(store: NotificationStore) -> None:
    suppressed = f"Suppressed-{uuid.uuid4().hex[:8]}@Example.com"
    await store.pool.execute(
        "INSERT INTO email_suppressions (application_id, address, reason)"
        " VALUES ((SELECT id FROM applications WHERE name = 'default'), $1, 'hard_bounce')",
        suppressed.lower(),
    )
    batch = [notification() for _ in range(40)]
    batch[7] = notification(email_address=suppressed)
    batch[9] = notification(status="skipped", reason="channel_disabled", envelope=None)
    results = await asyncio.gather(*(store.create(item) for item in batch))

    expected = [("queued", None)] * 40
    expected[7] = ("skipped", "suppressed")
    expected[9] = ("skipped", "channel_disabled")
    assert results == expected
    rows = {
        row["id"]: row
        for row in await store.pool.fetch(
            "SELECT id, status, reason, envelope, metadata, created_at FROM notification_statuses WHERE id = ANY($1)",
            [item.id for item in batch],
        )
    }
    assert rows[batch[0].id]["envelope"] == b"\x01\x02"
    assert rows[batch[0].id]["metadata"] == {"k": "v"}
    assert rows[batch[0].id]["created_at"] == batch[0].created_at
    assert rows[batch[7].id]["envelope"] is None
    events = await store.pool.fetch(
        "SELECT notification_id, status, detail FROM notification_events WHERE notification_id = ANY($1)",
        [item.id for item in batch],
    )
    by_id = {event["notification_id"]: event for event in events}
    assert len(events) == 40
    assert by_id[batch[7].id]["detail"] == {"reason": "suppressed"}
    assert by_id[batch[0].id]["detail"] == {}


async def test_a_row_the_database_refuses_fails_only_its_own_send(store: NotificationStore) -> None:
    good = [notification() for _ in range(5)]
    taken = notification()
    await store.create(taken)
    duplicate = notification(id=taken.id)  # the same primary key: the whole statement would fail
    results = await asyncio.gather(*(store.create(item) for item in [*good, duplicate]), return_exceptions=True)
    assert results[:5] == [("queued", None)] * 5
    assert isinstance(results[5], asyncpg.UniqueViolationError)
    stored = await store.pool.fetchval(
        "SELECT count(*) FROM notification_statuses WHERE id = ANY($1)", [item.id for item in good]
    )
    assert stored == 5


@pytest.mark.parametrize("size", [1, 3])
async def test_small_batches_and_lone_creates_work_alike(store: NotificationStore, size: int) -> None:
    assert await asyncio.gather(*(store.create(notification()) for _ in range(size))) == [("queued", None)] * size


async def test_the_published_at_stamp_skips_rows_a_worker_already_claimed(store: NotificationStore) -> None:
    waiting, claimed = notification(), notification()
    await asyncio.gather(store.create(waiting), store.create(claimed))
    await store.pool.execute("UPDATE notification_statuses SET status = 'sending' WHERE id = $1", claimed.id)
    await store.mark_published([claimed.id, waiting.id])
    stamps = dict(
        await store.pool.fetch(
            "SELECT id, published_at FROM notification_statuses WHERE id = ANY($1::uuid[])", [waiting.id, claimed.id]
        )
    )
    assert stamps[waiting.id] is not None  # still in the queue: the reconciler must know it was published
    assert stamps[claimed.id] is None  # a worker holds it (and its claim sets published_at itself)


async def test_stopping_the_stamper_mid_flush_still_stamps_every_confirmed_row(store: NotificationStore) -> None:
    rows = [notification() for _ in range(20)]
    await asyncio.gather(*(store.create(row) for row in rows))
    await store.pool.execute(
        "UPDATE notification_statuses SET published_at = NULL WHERE id = ANY($1::uuid[])", [row.id for row in rows]
    )
    stamper = PublishedStamper(store, interval_seconds=0.001)
    running = asyncio.create_task(stamper.run())
    for row in rows:
        stamper.confirmed(row.id)
    while stamper._pending:  # noqa: ASYNC110 - until the first flush has taken them and waits for the database
        await asyncio.sleep(0)
    running.cancel()  # a gateway shutting down
    with contextlib.suppress(asyncio.CancelledError):
        await running
    unstamped = await store.pool.fetchval(
        "SELECT count(*) FROM notification_statuses WHERE id = ANY($1::uuid[]) AND published_at IS NULL",
        [row.id for row in rows],
    )
    assert unstamped == 0
