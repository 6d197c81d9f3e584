"""Rows as the gateway and the status writers make them, and waiting for what the worker does with them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from common.applications import DEFAULT_APPLICATION_ID
from common.ids import new_notification_id
from common.webhook_signature import new_secret


async def add_endpoint(
    pool: asyncpg.Pool,
    url: str,
    events: list[str] | None = None,
    *,
    enabled: bool = True,
    application_id: uuid.UUID = DEFAULT_APPLICATION_ID,
    previous_secret: str | None = None,
    previous_for_seconds: float = 0,
) -> asyncpg.Record:
    """A webhook endpoint row as the gateway writes it."""
    return await pool.fetchrow(
        """INSERT INTO webhook_endpoints (id, application_id, url, events, enabled, secret, previous_secret,
                                          previous_secret_until)
           VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) RETURNING *""",
        new_notification_id(),
        application_id,
        url,
        events or ["*"],
        enabled,
        new_secret(),
        previous_secret,
        previous_for_seconds,
    )


async def add_event(
    pool: asyncpg.Pool,
    event_type: str = "notification.delivered",
    data: str = '{"id": "n1", "event": {"sequence": 1}}',
    *,
    application_id: uuid.UUID = DEFAULT_APPLICATION_ID,
) -> asyncpg.Record:
    """An outbox row as a status writer commits it."""
    return await pool.fetchrow(
        "INSERT INTO webhook_outbox (application_id, event_type, data) VALUES ($1, $2, $3::jsonb) RETURNING *",
        application_id,
        event_type,
        data,
    )


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """``check()``'s first truthy result, polled until ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        await asyncio.sleep(0.05)


async def deliveries(pool: asyncpg.Pool, endpoint_id: uuid.UUID) -> list[asyncpg.Record]:
    """An endpoint's delivery rows, oldest first."""
    return await pool.fetch(
        "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY event_at, id", endpoint_id
    )


async def final(
    pool: asyncpg.Pool, endpoint_id: uuid.UUID, count: int = 1, timeout: float = 10.0
) -> list[asyncpg.Record]:
    """The endpoint's ``count`` deliveries once all of them are final (succeeded or failed)."""

    async def all_final() -> list[asyncpg.Record] | None:
        rows = await deliveries(pool, endpoint_id)
        done = len(rows) == count and all(row["status"] in ("succeeded", "failed") for row in rows)
        return rows if done else None

    result: list[asyncpg.Record] = await eventually(all_final, timeout)
    return result
