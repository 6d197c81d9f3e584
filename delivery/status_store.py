"""The worker side of ``notification_statuses``: claim a notification for sending, record its outcome, append
every change to ``notification_events`` and hard bounces to ``email_suppressions`` (docs/design.md §1, §3).

Workers only update rows, never create them. Each operation is one statement (the check, the update and the
event together), and concurrent calls are batched into one round trip (:mod:`common.batching`).
It talks to asyncpg directly: this is the hot path of every delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import asyncpg
import orjson

from common.batching import Batcher
from common.db import plain_url
from common.notification_tables import ROWS_LOCKED_IN_ID_ORDER, Status

CLAIM_SQL = f"""
WITH {ROWS_LOCKED_IN_ID_ORDER}, input AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS t(id, attempt)
), claimed AS (
    UPDATE notification_statuses AS s
    SET status = 'sending', attempts = i.attempt, next_attempt_at = NULL, updated_at = now(),
        published_at = COALESCE(s.published_at, now())
    FROM input AS i JOIN locked AS l ON l.id = i.id
    WHERE s.id = i.id AND s.status <> 'delivered'
    RETURNING s.id, i.attempt
), events AS (
    INSERT INTO notification_events (notification_id, status, attempt)
    SELECT id, 'sending', attempt FROM claimed
)
SELECT s.id, c.id IS NOT NULL AS claimed
FROM notification_statuses AS s LEFT JOIN claimed AS c ON c.id = s.id
WHERE s.id = ANY($1::uuid[])
"""  # noqa: S608 - a constant
"""Marks each row ``sending`` unless it is already delivered; answers which rows exist and which it claimed
(the final SELECT reads the rows as they were before the update). A worker holding the envelope proves it was
published, so the claim also sets ``published_at`` when the gateway's batched stamp has not yet: the stamp then
skips the row, and one write and one row lock per notification are saved."""

WRITE_SQL = f"""
WITH {ROWS_LOCKED_IN_ID_ORDER}, input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::jsonb[], $9::text[]
    ) AS t(id, status, attempt, reason, last_error, provider_message_id, retry_in_seconds, detail, suppress_address)
), written AS (
    UPDATE notification_statuses AS s
    SET status = i.status,
        attempts = i.attempt,
        reason = i.reason,
        last_error = COALESCE(i.last_error, s.last_error),
        provider_message_id = COALESCE(i.provider_message_id, s.provider_message_id),
        next_attempt_at = now() + make_interval(secs => i.retry_in_seconds),
        delivered_at = CASE WHEN i.status = 'delivered' THEN now() ELSE s.delivered_at END,
        updated_at = now()
    FROM input AS i JOIN locked AS l ON l.id = i.id
    WHERE s.id = i.id AND s.status <> 'delivered'
    RETURNING s.id
), events AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT i.id, i.status, i.attempt, i.detail FROM input AS i JOIN written AS w ON w.id = i.id
), suppressed AS (
    INSERT INTO email_suppressions (address, reason, notification_id)
    SELECT lower(i.suppress_address), i.reason, i.id FROM input AS i JOIN written AS w ON w.id = i.id
    WHERE i.suppress_address IS NOT NULL
    ON CONFLICT (address) DO NOTHING
)
SELECT s.id, w.id IS NOT NULL AS written
FROM notification_statuses AS s LEFT JOIN written AS w ON w.id = s.id
WHERE s.id = ANY($1::uuid[])
"""  # noqa: S608 - a constant
"""Records outcomes (never over a row that is already delivered), their events and any hard bounce."""


class RowState(Enum):
    """What a claim or a write found."""

    DONE = "done"
    """The row was updated (claimed for sending, or its outcome recorded)."""
    DELIVERED = "delivered"
    """The row is already delivered: nothing was changed."""
    MISSING = "missing"
    """There is no such row: the envelope is dropped."""


@dataclass(frozen=True)
class Outcome:
    """An outcome to record on a notification's row, with the event that tells it."""

    notification_id: str
    status: Status
    attempts: int
    reason: str | None = None
    last_error: str | None = None
    provider_message_id: str | None = None
    retry_in_seconds: float | None = None
    """For ``retrying``: when the next attempt is due, from now."""
    detail: dict[str, Any] = field(default_factory=dict)
    suppress_address: str | None = None


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset round trip when a connection goes back to the pool: the store sets no session state, and
    asyncpg still rolls back a transaction left open."""


def _row_states(ids: Sequence[uuid.UUID], rows: Sequence[asyncpg.Record]) -> list[RowState]:
    found = {row["id"]: row[1] for row in rows}
    return [
        RowState.MISSING if key not in found else RowState.DONE if found[key] else RowState.DELIVERED for key in ids
    ]


def _json(detail: dict[str, Any]) -> str:
    return orjson.dumps(detail, default=str).decode()


class StatusStore:
    """Claims and outcome writes on the notifications database; concurrent calls share round trips."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._claims: Batcher[tuple[uuid.UUID, int], RowState] = Batcher(self._claim_batch)
        self._writes: Batcher[Outcome, RowState] = Batcher(self._write_batch)

    @classmethod
    async def open(cls, database_url: str, *, pool_size: int = 4) -> StatusStore:
        """A store on ``database_url``; connections open lazily, so this works while the database is down."""
        pool = await asyncpg.create_pool(
            plain_url(database_url), min_size=0, max_size=pool_size, reset=_keep_session, command_timeout=15
        )
        return cls(pool)

    async def claim(self, notification_id: str, attempt: int) -> RowState:
        """Mark the notification ``sending`` for attempt number ``attempt`` (with its event), unless it is
        already delivered or has no row."""
        return await self._claims.submit((uuid.UUID(notification_id), attempt))

    async def write(self, outcome: Outcome) -> RowState:
        """Record ``outcome`` (with its event, and its suppression when it has one) unless the row is already
        delivered or missing."""
        return await self._writes.submit(outcome)

    async def ping(self) -> bool:
        """True when the database answers."""
        return bool(await self._pool.fetchval("SELECT 1", timeout=2))

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def _claim_batch(self, items: Sequence[tuple[uuid.UUID, int]]) -> list[RowState]:
        ids = [key for key, _ in items]
        rows = await self._pool.fetch(CLAIM_SQL, ids, [attempt for _, attempt in items])
        return _row_states(ids, rows)

    async def _write_batch(self, outcomes: Sequence[Outcome]) -> list[RowState]:
        ids = [uuid.UUID(outcome.notification_id) for outcome in outcomes]
        rows = await self._pool.fetch(
            WRITE_SQL,
            ids,
            [outcome.status.value for outcome in outcomes],
            [outcome.attempts for outcome in outcomes],
            [outcome.reason for outcome in outcomes],
            [outcome.last_error for outcome in outcomes],
            [outcome.provider_message_id for outcome in outcomes],
            [outcome.retry_in_seconds for outcome in outcomes],
            [_json(outcome.detail) for outcome in outcomes],
            [outcome.suppress_address for outcome in outcomes],
        )
        return _row_states(ids, rows)
