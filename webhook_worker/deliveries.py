"""The deliveries table as the relay works it (docs/design.md §7 "Events out"): claims that lease due rows, and
outcome writes, each one statement per batch. A claim moves ``next_attempt_at`` to the end of its lease, which is
also the claim's token: an outcome is written only while the row still carries it, so a delivery that was
retried by hand (or replayed) meanwhile is left to its new round."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg


class DeliveryStatus(StrEnum):
    """A delivery's status (docs/api.md "Webhooks")."""

    PENDING = "pending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery and what sending it needs."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    body: bytes
    attempts: int
    status: str
    lease: datetime
    url: str
    secrets: tuple[str, ...]
    """The endpoint's secret, then the previous one while its rotation overlap lasts."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed delivery; ``next_in`` is None once final."""

    delivery: Delivery
    status: DeliveryStatus
    attempts: int
    next_in: float | None
    attempted: bool
    """False for a send the endpoint's breaker held back: the row keeps its last response."""
    response_status: int | None = None
    response_ms: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointRoom:
    """How many more deliveries each endpoint may take now: none for ``full`` ones, ``free[i]`` for
    ``partly[i]``, and the most an endpoint may hold for any other."""

    full: Sequence[uuid.UUID]
    partly: Sequence[uuid.UUID]
    free: Sequence[int]


# The inner scan skips endpoints that are full (or whose breaker is open), so their backlog never hides the
# others' due rows; place ranks each endpoint's rows, so no endpoint gets more than its free slots.
CLAIM_DUE = """
WITH room AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS r(endpoint_id, free)
),
due AS (
    SELECT d.id, d.endpoint_id, row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS place
    FROM (
        SELECT w.id, w.endpoint_id, w.next_attempt_at
        FROM webhook_deliveries w JOIN webhook_endpoints e ON e.id = w.endpoint_id AND e.enabled
        WHERE w.status IN ('pending', 'retrying') AND w.next_attempt_at <= now() AND w.endpoint_id <> ALL($3::uuid[])
        ORDER BY w.next_attempt_at LIMIT $4
    ) d
),
picked AS (
    SELECT w.id FROM webhook_deliveries w
    JOIN due ON due.id = w.id
    LEFT JOIN room ON room.endpoint_id = due.endpoint_id
    WHERE due.place <= COALESCE(room.free, $5) AND w.status IN ('pending', 'retrying') AND w.next_attempt_at <= now()
    LIMIT $6
    FOR UPDATE OF w SKIP LOCKED
)
UPDATE webhook_deliveries w SET next_attempt_at = now() + make_interval(secs => $7), updated_at = now()
FROM picked, webhook_endpoints e
WHERE w.id = picked.id AND e.id = w.endpoint_id
RETURNING w.id, w.endpoint_id, w.body, w.attempts, w.status, w.next_attempt_at, e.url, e.secret,
    CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret
"""

WRITE_OUTCOMES = """
UPDATE webhook_deliveries d SET
    status = o.status,
    attempts = o.attempts,
    next_attempt_at = CASE WHEN o.next_in IS NULL THEN NULL ELSE now() + make_interval(secs => o.next_in) END,
    response_status = CASE WHEN o.attempted THEN o.response_status ELSE d.response_status END,
    response_ms = CASE WHEN o.attempted THEN o.response_ms ELSE d.response_ms END,
    last_error = CASE WHEN o.attempted THEN o.last_error ELSE d.last_error END,
    updated_at = now()
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::float8[], $6::bool[], $7::int[], $8::int[],
            $9::text[]) AS o(id, lease, status, attempts, next_in, attempted, response_status, response_ms, last_error)
WHERE d.id = o.id AND d.next_attempt_at = o.lease AND d.status IN ('pending', 'retrying')
"""

# failing_since: set by the first failure after a success, cleared by a success; touched only when it changes.
MARK_ENDPOINTS = """
UPDATE webhook_endpoints e SET failing_since = CASE WHEN o.ok THEN NULL ELSE now() END
FROM unnest($1::uuid[], $2::bool[]) AS o(id, ok)
WHERE e.id = o.id AND o.ok = (e.failing_since IS NOT NULL)
"""


async def claim_due(
    pool: asyncpg.Pool, *, limit: int, room: EndpointRoom, endpoint_limit: int, lease_seconds: float
) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries of enabled endpoints, within each endpoint's room (``endpoint_limit``
    for one this worker holds nothing of)."""
    rows = await pool.fetch(
        CLAIM_DUE, room.partly, room.free, room.full, limit * 4, endpoint_limit, limit, lease_seconds
    )
    return [
        Delivery(
            id=row["id"],
            endpoint_id=row["endpoint_id"],
            body=row["body"],
            attempts=row["attempts"],
            status=row["status"],
            lease=row["next_attempt_at"],
            url=row["url"],
            secrets=(row["secret"], row["previous_secret"]) if row["previous_secret"] else (row["secret"],),
        )
        for row in rows
    ]


async def write_outcomes(pool: asyncpg.Pool, outcomes: Sequence[Outcome]) -> None:
    """Record ``outcomes`` and each endpoint's ``failing_since`` (by its latest attempt) in one transaction."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.delivery.id)
    latest_ok: dict[uuid.UUID, bool] = {}
    for outcome in outcomes:
        if outcome.attempted:
            latest_ok[outcome.delivery.endpoint_id] = outcome.status is DeliveryStatus.SUCCEEDED
    endpoints = sorted(latest_ok)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            WRITE_OUTCOMES,
            [outcome.delivery.id for outcome in ordered],
            [outcome.delivery.lease for outcome in ordered],
            [outcome.status.value for outcome in ordered],
            [outcome.attempts for outcome in ordered],
            [outcome.next_in for outcome in ordered],
            [outcome.attempted for outcome in ordered],
            [outcome.response_status for outcome in ordered],
            [outcome.response_ms for outcome in ordered],
            [outcome.last_error for outcome in ordered],
        )
        if endpoints:
            await connection.execute(MARK_ENDPOINTS, endpoints, [latest_ok[endpoint] for endpoint in endpoints])
