"""Expanding the outbox (docs/design.md §7 "Events out"): each event the status writers committed becomes one
delivery per enabled endpoint of its application that subscribes to its type, and leaves the outbox in the same
transaction, so an event is expanded exactly once even with several replicas."""

from __future__ import annotations

import uuid
from collections import defaultdict

import asyncpg
import orjson

from common.ids import new_notification_id
from common.webhook_events import delivery_body, subscribes

CLAIM_EVENTS = """
SELECT id, application_id, event_type, data::text AS data, created_at
FROM webhook_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
# FOR KEY SHARE: an endpoint deleted meanwhile would break the deliveries' foreign key at commit.
SUBSCRIBED_ENDPOINTS = """
SELECT id, application_id, events FROM webhook_endpoints
WHERE enabled AND application_id = ANY($1::uuid[]) FOR KEY SHARE
"""
INSERT_DELIVERIES = """
INSERT INTO webhook_deliveries (id, endpoint_id, application_id, event_type, body, event_at, next_attempt_at)
SELECT id, endpoint_id, application_id, event_type, body, event_at, now()
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::timestamptz[])
    AS d(id, endpoint_id, application_id, event_type, body, event_at)
"""
DELETE_EVENTS = "DELETE FROM webhook_outbox WHERE id = ANY($1::bigint[])"


async def expand_events(pool: asyncpg.Pool, limit: int) -> tuple[int, int]:
    """Expand up to ``limit`` outbox rows in one transaction; returns (events taken, deliveries made)."""
    async with pool.acquire() as connection, connection.transaction():
        events = await connection.fetch(CLAIM_EVENTS, limit)
        if not events:
            return 0, 0
        endpoints: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for endpoint in await connection.fetch(
            SUBSCRIBED_ENDPOINTS, list({event["application_id"] for event in events})
        ):
            endpoints[endpoint["application_id"]].append(endpoint)
        columns: tuple[list[object], ...] = ([], [], [], [], [], [])
        for event in events:
            body: bytes | None = None
            for endpoint in endpoints[event["application_id"]]:
                if not subscribes(endpoint["events"], event["event_type"]):
                    continue
                body = body or delivery_body(event["event_type"], orjson.Fragment(event["data"]), event["created_at"])
                row = (
                    new_notification_id(),
                    endpoint["id"],
                    event["application_id"],
                    event["event_type"],
                    body,
                    event["created_at"],
                )
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
        if columns[0]:
            await connection.execute(INSERT_DELIVERIES, *columns)
        await connection.execute(DELETE_EVENTS, [event["id"] for event in events])
        return len(events), len(columns[0])
