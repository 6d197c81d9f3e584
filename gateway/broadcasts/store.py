"""The ``broadcasts`` rows (``common.notification_tables.broadcasts``): created by a topic send, claimed and
checkpointed by the fan-out, read and cancelled by the API. The row is the fan-out's lock: a claim takes a free
or lapsed lease with ``FOR UPDATE SKIP LOCKED``, and every checkpoint locks the row, checks the lease is still
its own and the state still ``fanning_out``, then renews the lease."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.notification_tables import BroadcastState, lease_expired
from gateway.schemas.webhook_events import BroadcastSummary

BROADCAST_COLUMNS = "id, topic, state, recipients, created_at, completed_at"
"""The columns of a broadcast's body, besides its counters."""

_CREATE = """
INSERT INTO broadcasts (id, application_id, topic, content, test_mode, state, request_id, created_at)
VALUES ($1, $2, $3, $4, $5, 'fanning_out', $6, $7)
"""

_LEASE_FREE = lease_expired("b")

_CLAIM = f"""
UPDATE broadcasts AS b SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
WHERE b.id = (
    SELECT b.id FROM broadcasts AS b
    WHERE b.state = 'fanning_out' AND {_LEASE_FREE}
    ORDER BY b.id LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, application_id, topic, content, test_mode, checkpoint, request_id
"""  # noqa: S608 - constants only

_LOCK = "SELECT state, lease_owner FROM broadcasts WHERE id = $1 FOR UPDATE"

_ADVANCE = """
UPDATE broadcasts
SET checkpoint = $2, recipients = recipients + $3, lease_until = now() + make_interval(secs => $4)
WHERE id = $1
"""

_RECORD = "UPDATE broadcasts SET checkpoint = $2, recipients = recipients + $3 WHERE id = $1"
"""The last page of a cancelled broadcast, counted without renewing anything."""

_RELEASE = """
UPDATE broadcasts SET lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND state = 'fanning_out'
"""

_FINISH = f"""
UPDATE broadcasts
SET checkpoint = $2, recipients = recipients + $3, state = 'done', completed_at = now(),
    lease_owner = NULL, lease_until = NULL
WHERE id = $1
RETURNING application_id, {BROADCAST_COLUMNS}
"""  # noqa: S608 - constants only

_COUNT = "SELECT status, count(*) AS n FROM notification_statuses WHERE broadcast_id = $1 GROUP BY status"

_COMPLETED_EVENT = """
INSERT INTO webhook_outbox (application_id, event_type, data)
SELECT $1, 'broadcast.completed', $2::jsonb
WHERE EXISTS (
    SELECT 1 FROM webhook_endpoints AS w
    WHERE w.application_id = $1 AND w.enabled
      AND (w.events @> ARRAY['broadcast.completed'] OR w.events @> ARRAY['*'])
)
"""
"""The ``broadcast.completed`` event, in the transaction that marks the broadcast done, when an enabled endpoint
of its application subscribes (docs/design.md §7 "Events out")."""

_CANCEL = f"""
UPDATE broadcasts
SET state = CASE WHEN state = 'done' THEN state ELSE 'cancelled' END,
    completed_at = COALESCE(completed_at, now()), lease_until = NULL
WHERE id = $2 AND application_id = $1
RETURNING {BROADCAST_COLUMNS}
"""  # noqa: S608 - constants only
"""Stops the fan-out (``cancelled``); a broadcast already ``done`` stays so (every subscriber was written). The
lease owner stays, so the fan-out that holds it still records the page it was writing."""

_GET = f"SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $2 AND application_id = $1"  # noqa: S608
_PAGE = f"""
SELECT {BROADCAST_COLUMNS} FROM broadcasts
WHERE application_id = $1 AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC LIMIT $3
"""  # noqa: S608 - constants only

COUNTED: Mapping[str, str] = {
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "retrying": "queued",
    "skipped": "skipped",
    "delivered": "delivered",
    "failed": "failed",
    "bounced": "failed",
    "cancelled": "cancelled",
}
"""Which counter of a broadcast each notification status adds to."""
COUNTERS = ("queued", "skipped", "delivered", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class FanOutJob:
    """A claimed broadcast: what its fan-out needs to write the next page."""

    id: uuid.UUID
    application_id: uuid.UUID
    topic: str
    content: dict[str, Any]
    test_mode: bool
    checkpoint: uuid.UUID | None
    request_id: str | None


def counters(rows: Any) -> dict[str, int]:
    """The counters of ``COUNT … GROUP BY status`` rows."""
    found = dict.fromkeys(COUNTERS, 0)
    for row in rows:
        found[COUNTED[row["status"]]] += row["n"]
    return found


class BroadcastStore:
    """Broadcast rows over the notifications database's asyncpg pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def create(
        self,
        broadcast_id: uuid.UUID,
        application_id: uuid.UUID,
        topic: str,
        content: dict[str, Any],
        *,
        test_mode: bool,
        request_id: str | None,
        created_at: datetime,
    ) -> None:
        """Write a topic send's row, ``fanning_out`` with a free lease: the next replica to look claims it."""
        await self.pool.execute(
            _CREATE, broadcast_id, application_id, topic, content, test_mode, request_id, created_at
        )

    async def claim(self, owner: str, lease_seconds: float) -> FanOutJob | None:
        """Take the lease of one broadcast to fan out whose lease is free or lapsed, or None."""
        row = await self.pool.fetchrow(_CLAIM, owner, lease_seconds)
        return FanOutJob(**row) if row else None

    async def checkpoint(
        self,
        broadcast_id: uuid.UUID,
        owner: str,
        last_user_id: uuid.UUID | None,
        written: int,
        *,
        lease_seconds: float,
        finished: bool,
    ) -> str | None:
        """Record a page written up to ``last_user_id`` (``written`` subscribers) and renew the lease, or mark
        the broadcast ``done`` (writing its ``broadcast.completed`` event) when ``finished``. Answers None when
        done so, else the broadcast's state when the lease is no longer ``owner``'s (nothing is recorded) or it
        is no longer ``fanning_out`` (a ``cancelled`` one still records the page): the caller stops."""
        async with self.pool.acquire() as connection, connection.transaction():
            current = await connection.fetchrow(_LOCK, broadcast_id)
            if current is None:
                return BroadcastState.CANCELLED
            state = current["state"]
            if current["lease_owner"] != owner or state not in (BroadcastState.FANNING_OUT, BroadcastState.CANCELLED):
                return state
            if state == BroadcastState.CANCELLED:  # the page was written all the same: count it, then stop
                await connection.execute(_RECORD, broadcast_id, last_user_id, written)
                return state
            if not finished:
                await connection.execute(_ADVANCE, broadcast_id, last_user_id, written, lease_seconds)
                return None
            row = await connection.fetchrow(_FINISH, broadcast_id, last_user_id, written)
            body = {**broadcast_body(row), **counters(await connection.fetch(_COUNT, broadcast_id))}
            event = BroadcastSummary.model_validate(body).model_dump(mode="json")
            await connection.execute(_COMPLETED_EVENT, row["application_id"], event)
        return None

    async def release(self, broadcast_id: uuid.UUID, owner: str) -> None:
        """Give up ``owner``'s lease of the broadcast (it stays ``fanning_out``, free to claim)."""
        await self.pool.execute(_RELEASE, broadcast_id, owner)

    async def count(self, broadcast_id: uuid.UUID) -> dict[str, int]:
        """The broadcast's notifications counted by counter (one ``GROUP BY`` over its index)."""
        return counters(await self.pool.fetch(_COUNT, broadcast_id))

    async def get(self, application_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, Any] | None:
        """The broadcast of ``application_id`` without its counters, or None."""
        row = await self.pool.fetchrow(_GET, application_id, broadcast_id)
        return broadcast_body(row) if row else None

    async def page(
        self, application_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
        """The application's broadcasts newest first, without counters; the id to continue before, if any."""
        rows = await self.pool.fetch(_PAGE, application_id, before, limit + 1)
        more = len(rows) > limit
        return [broadcast_body(row) for row in rows[:limit]], rows[limit - 1]["id"] if more else None

    async def cancel(self, application_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, Any] | None:
        """Mark the broadcast ``cancelled`` (its fan-out stops at its next checkpoint) unless it is ``done``
        already; None when unknown."""
        row = await self.pool.fetchrow(_CANCEL, application_id, broadcast_id)
        return broadcast_body(row) if row else None


def broadcast_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A broadcast row as the REST body shows it, without the counters."""
    return {
        "id": row["id"],
        "topic": row["topic"],
        "state": row["state"],
        "recipients": row["recipients"],
        "created_at": row["created_at"],
        "completed_at": row["completed_at"],
    }
