"""Expansion: an outbox event becomes one delivery per enabled endpoint of its application subscribed to its type,
with the body the contract promises, and leaves the outbox in the same transaction."""

from __future__ import annotations

import uuid

import asyncpg
import orjson

from tests.integration.webhook_worker.support import add_endpoint, add_event
from webhook_worker.outbox import expand_events

OTHER_APPLICATION = uuid.UUID("00000000-0000-4000-8000-0000000000f2")


async def test_one_delivery_per_subscribed_endpoint(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO applications (id, name) VALUES ($1, 'webhook expansion test') ON CONFLICT (id) DO NOTHING",
        OTHER_APPLICATION,
    )
    delivered_only = await add_endpoint(pool, "http://127.0.0.1:9/a", ["notification.delivered"])
    everything = await add_endpoint(pool, "http://127.0.0.1:9/b", ["*"])
    await add_endpoint(pool, "http://127.0.0.1:9/c", ["*"], enabled=False)
    await add_endpoint(pool, "http://127.0.0.1:9/d", ["*"], application_id=OTHER_APPLICATION)
    delivered = await add_event(pool, "notification.delivered", '{"id": "n1", "event": {"sequence": 2}}')
    queued = await add_event(pool, "notification.queued", '{"id": "n1", "event": {"sequence": 1}}')

    assert await expand_events(pool, 500) == (2, 3)

    assert await pool.fetchval("SELECT count(*) FROM webhook_outbox") == 0
    rows = await pool.fetch("SELECT * FROM webhook_deliveries ORDER BY event_type, endpoint_id")
    assert sorted((row["event_type"], row["endpoint_id"]) for row in rows) == sorted(
        [
            ("notification.delivered", delivered_only["id"]),
            ("notification.delivered", everything["id"]),
            ("notification.queued", everything["id"]),
        ]
    )
    for row in rows:
        event = delivered if row["event_type"] == "notification.delivered" else queued
        assert uuid.UUID(str(row["id"])).version == 7
        assert (row["status"], row["attempts"], row["event_at"]) == ("pending", 0, event["created_at"])
        assert row["next_attempt_at"] is not None
        body = orjson.loads(row["body"])
        assert body == {
            "type": event["event_type"],
            "timestamp": event["created_at"].isoformat().replace("+00:00", "Z"),
            "data": orjson.loads(event["data"]),
        }


async def test_an_event_nobody_subscribes_to_is_dropped(pool: asyncpg.Pool) -> None:
    await add_endpoint(pool, "http://127.0.0.1:9/a", ["notification.failed"])
    await add_event(pool, "notification.delivered")

    assert await expand_events(pool, 500) == (1, 0)

    assert await pool.fetchval("SELECT count(*) FROM webhook_outbox") == 0
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


async def test_batches_take_the_oldest_events_first(pool: asyncpg.Pool) -> None:
    endpoint = await add_endpoint(pool, "http://127.0.0.1:9/a")
    for sequence in range(5):
        await add_event(pool, data=f'{{"sequence": {sequence}}}')

    assert await expand_events(pool, 3) == (3, 3)
    assert await expand_events(pool, 3) == (2, 2)

    bodies = await pool.fetch("SELECT body FROM webhook_deliveries WHERE endpoint_id = $1", endpoint["id"])
    assert sorted(orjson.loads(row["body"])["data"]["sequence"] for row in bodies) == [0, 1, 2, 3, 4]
