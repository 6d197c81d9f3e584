"""Reading the bench's notifications database: delivery counts and rates, end-to-end latencies, what is left."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from bench.environment import DATABASES, POSTGRES


def url() -> str:
    """The bench's notifications database."""
    return f"{POSTGRES}/{DATABASES['NOTIFICATIONS_DATABASE_URL']}"


async def connect() -> asyncpg.Pool:
    """A small pool: the monitor and the phases query at the same time."""
    return await asyncpg.create_pool(url(), min_size=1, max_size=3)


async def backlog(connection: asyncpg.Pool) -> dict[str, int]:
    """Accepted notifications no worker has picked up yet (``queued``, or ``retrying``), by channel: the work
    queues' depth as the system sees it. (RabbitMQ 3.10 answers a passive declare of a quorum queue with a
    message count that lags by seconds to minutes, and the management plugin is not enabled here.)"""
    rows = await connection.fetch(
        "SELECT channel, count(*) AS n FROM notification_statuses WHERE status IN ('queued', 'retrying') "
        "GROUP BY channel"
    )
    found = {"email": 0, "push": 0}
    found.update({row["channel"]: row["n"] for row in rows})
    return found


async def delivery_window(connection: asyncpg.Pool, channel: str, since: Any) -> dict[str, Any]:
    """Rows of ``channel`` delivered after ``since``: how many, and the first and last ``delivered_at``."""
    row = await connection.fetchrow(
        "SELECT count(*) AS n, min(delivered_at) AS first, max(delivered_at) AS last FROM notification_statuses "
        "WHERE channel = $1 AND status = 'delivered' AND delivered_at >= $2",
        channel,
        since,
    )
    return dict(row)


async def commits(connection: asyncpg.Pool) -> int:
    """Transactions committed in the notifications database so far (each backend reports its own at most once
    a second, so read it over a phase of many seconds)."""
    return int(await connection.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))


async def commits_since(connection: asyncpg.Pool, before: int) -> int:
    """Transactions committed since :func:`commits` answered ``before``, once the backends reported the last
    second's."""
    await asyncio.sleep(1)
    return await commits(connection) - before


async def now(connection: asyncpg.Pool) -> Any:
    return await connection.fetchval("SELECT clock_timestamp()")


async def delivered_count(connection: asyncpg.Pool, ids: list[uuid.UUID]) -> int:
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM notification_statuses WHERE id = ANY($1::uuid[]) AND status = 'delivered'", ids
        )
    )


async def delivered_by(connection: asyncpg.Pool, ids: list[uuid.UUID], since: Any, seconds: float) -> int:
    """How many of ``ids`` were delivered within ``seconds`` of ``since``."""
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM notification_statuses WHERE id = ANY($1::uuid[]) AND status = 'delivered' "
            "AND delivered_at <= $2::timestamptz + make_interval(secs => $3::float8)",
            ids,
            since,
            seconds,
        )
    )


async def end_to_end(connection: asyncpg.Pool, ids: list[uuid.UUID]) -> list[float]:
    """Seconds from ``created_at`` (stamped by the gateway before its 202) to ``delivered_at``, per delivered id."""
    rows = await connection.fetch(
        "SELECT extract(epoch FROM delivered_at - created_at)::float8 AS seconds FROM notification_statuses "
        "WHERE id = ANY($1::uuid[]) AND status = 'delivered'",
        ids,
    )
    return [row["seconds"] for row in rows]


async def statuses(connection: asyncpg.Pool) -> dict[str, dict[str, int]]:
    """Row counts by channel and status, over the whole run."""
    rows = await connection.fetch(
        "SELECT channel, status, count(*) AS n FROM notification_statuses GROUP BY channel, status"
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return found


async def unpublished(connection: asyncpg.Pool) -> int:
    """Accepted rows never stamped ``published_at`` (the stamp is batched; it must catch up)."""
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM notification_statuses WHERE status <> 'skipped' AND published_at IS NULL"
        )
    )


async def published_count(connection: asyncpg.Pool, ids: list[uuid.UUID]) -> int:
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM notification_statuses WHERE id = ANY($1::uuid[]) AND published_at IS NOT NULL", ids
        )
    )


async def publish_lateness(connection: asyncpg.Pool, ids: list[uuid.UUID]) -> list[float]:
    """Seconds from ``send_at`` to ``published_at`` (the broker's confirm), per published scheduled id."""
    rows = await connection.fetch(
        "SELECT extract(epoch FROM published_at - send_at)::float8 AS seconds FROM notification_statuses "
        "WHERE id = ANY($1::uuid[]) AND published_at IS NOT NULL AND send_at IS NOT NULL",
        ids,
    )
    return [row["seconds"] for row in rows]
