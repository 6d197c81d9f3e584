"""The worker side of ``notification_statuses``: claim a notification for sending under a lease, record its
outcome, append every change to ``notification_events`` (and to the webhook outbox where an endpoint subscribes)
and hard bounces to ``email_suppressions`` (docs/design.md §1, §3, §7).

Workers only update rows, never create them. Each operation is one statement (the check, the update and the
event together) whose ``WHERE`` holds the status machine of :mod:`common.notification_tables`, and concurrent
calls are batched into one round trip (:mod:`common.batching`). It talks to asyncpg directly: this is the hot
path of every delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import asyncpg
import orjson

from common.batching import Batcher
from common.db import plain_url
from common.notification_tables import (
    ROWS_LOCKED_IN_ID_ORDER,
    Status,
    SuppressionReason,
    blocks,
    lease_expired,
    may_become,
    transition_allowed,
)
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX

_HARD_BOUNCE = SuppressionReason.HARD_BOUNCE.value
"""The reason of the suppression a refusal at RCPT writes."""

_MAY_CLAIM = may_become(Status.SENDING, "s.status")
_CLAIM_ALLOWED = transition_allowed("s.status", "d.becomes")
_OUTCOME_ALLOWED = transition_allowed("s.status", "i.status")
_LEASE_EXPIRED = lease_expired("s")
_BLOCKS = blocks("e", "i.transactional")

CLAIM_SQL = f"""
WITH {ROWS_LOCKED_IN_ID_ORDER}, input AS (
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $5::bool[]) AS t(id, attempt, address, transactional)
), decided AS (
    SELECT l.id, i.attempt,
           CASE WHEN i.address IS NOT NULL
                     AND EXISTS (SELECT 1 FROM email_suppressions AS e
                                 WHERE e.application_id = l.application_id AND e.address = i.address
                                   AND {_BLOCKS})
                THEN CASE WHEN l.status = 'sending' THEN 'failed' ELSE 'skipped' END
                ELSE 'sending'
           END AS becomes
    FROM locked AS l JOIN input AS i ON i.id = l.id
), changed AS (
    UPDATE notification_statuses AS s
    SET status = d.becomes,
        attempts = CASE WHEN d.becomes = 'sending' THEN d.attempt ELSE s.attempts END,
        reason = CASE WHEN d.becomes = 'sending' THEN s.reason ELSE 'suppressed' END,
        lease_until = CASE WHEN d.becomes = 'sending' THEN now() + make_interval(secs => $4) END,
        next_attempt_at = NULL,
        updated_at = now(),
        published_at = COALESCE(s.published_at, now())
    FROM decided AS d
    WHERE s.id = d.id
      AND {_MAY_CLAIM} AND (s.status <> 'sending' OR {_LEASE_EXPIRED})
      AND {_CLAIM_ALLOWED}
    RETURNING {CHANGED_COLUMNS}, s.lease_until
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT id, status, attempts,
           CASE WHEN status = 'sending' THEN '{{}}'::jsonb ELSE '{{"reason": "suppressed"}}'::jsonb END
    FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT l.id, l.status AS found, c.status AS became, c.lease_until AS lease,
       GREATEST(0, EXTRACT(EPOCH FROM l.lease_until - now()))::float8 AS lease_left
FROM locked AS l LEFT JOIN changed AS c ON c.id = l.id
"""  # noqa: S608 - constants only
"""Claims each row for sending when the status machine lets it (``queued``, ``retrying``, or ``sending``
whose lease lapsed): ``sending`` with a lease of ``$4`` seconds, or, when its email address is suppressed,
``skipped`` (``failed`` for a lapsed claim) with reason ``suppressed`` (a suppression recorded after the send
was accepted, such as a hard bounce of an earlier email, still stops it here). Answers, for each row that exists,
its status as locked, what it became and the lease. Each event goes to the webhook outbox where an endpoint
subscribes (``common.webhook_outbox``). A worker holding the envelope proves it was published, so
the claim also sets ``published_at`` when the gateway's batched stamp has not yet: the stamp then skips the
row, and one write and one row lock per notification are saved."""

WRITE_SQL = f"""
WITH {ROWS_LOCKED_IN_ID_ORDER}, input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::jsonb[], $9::text[],
        $10::timestamptz[]
    ) AS t(
        id, status, attempt, reason, last_error, provider_message_id, retry_in_seconds, detail, suppress_address, lease
    )
), changed AS (
    UPDATE notification_statuses AS s
    SET status = i.status,
        attempts = i.attempt,
        reason = i.reason,
        last_error = CASE WHEN s.erased_at IS NULL THEN COALESCE(i.last_error, s.last_error) END,
        provider_message_id = COALESCE(i.provider_message_id, s.provider_message_id),
        next_attempt_at = now() + make_interval(secs => i.retry_in_seconds),
        delivered_at = CASE WHEN i.status = 'delivered' THEN now() ELSE s.delivered_at END,
        lease_until = NULL,
        updated_at = now()
    FROM input AS i JOIN locked AS l ON l.id = i.id
    WHERE s.id = i.id
      AND {_OUTCOME_ALLOWED}
      AND (s.status <> 'sending' OR s.lease_until IS NOT DISTINCT FROM i.lease OR {_LEASE_EXPIRED})
    RETURNING {CHANGED_COLUMNS}, s.erased_at IS NOT NULL AS erased
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT i.id, i.status, i.attempt, CASE WHEN w.erased THEN '{{}}'::jsonb ELSE i.detail END
    FROM input AS i JOIN changed AS w ON w.id = i.id
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}, suppressed AS (
    INSERT INTO email_suppressions (application_id, address, reason, notification_id)
    SELECT l.application_id, lower(i.suppress_address), '{_HARD_BOUNCE}', i.id
    FROM input AS i JOIN changed AS w ON w.id = i.id JOIN locked AS l ON l.id = i.id
    WHERE i.suppress_address IS NOT NULL
    ON CONFLICT (application_id, address) DO NOTHING
)
SELECT l.id, l.status AS found, w.id IS NOT NULL AS written
FROM locked AS l LEFT JOIN changed AS w ON w.id = l.id
"""  # noqa: S608 - constants only
"""Records outcomes where the status machine allows them and, over a ``sending`` row, only for the writer that
holds its lease (or once the lease lapsed), with their events and any hard bounce. A row whose user was deleted
keeps no error text or event detail: they may quote the address. Each event goes to the webhook outbox where
an endpoint subscribes (``common.webhook_outbox``)."""


class RowState(Enum):
    """What a claim or a write found."""

    DONE = "done"
    """The row was updated (claimed for sending, or its outcome recorded)."""
    DELIVERED = "delivered"
    """The row is already delivered (or bounced): nothing was changed."""
    MISSING = "missing"
    """There is no such row: the envelope is dropped."""
    LEASED = "leased"
    """Another claim's lease on the row is live: nothing was changed (claims only)."""
    SUPPRESSED = "suppressed"
    """The address is suppressed: the claim made the row ``skipped`` (``failed`` for a lapsed claim)."""
    REFUSED = "refused"
    """The status machine does not allow the change (the row is failed, skipped, cancelled or not yet due, or
    another claim holds it now): nothing was changed."""


_AS_FOUND = {Status.DELIVERED: RowState.DELIVERED, Status.BOUNCED: RowState.DELIVERED, Status.SENDING: RowState.LEASED}


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim found, and what it holds."""

    state: RowState
    found: str | None = None
    """The row's status when it was locked (None: no row)."""
    lease: datetime | None = None
    """The lease this claim holds (``DONE``): outcome writes over the ``sending`` row present it."""
    wait_seconds: float = 0.0
    """``LEASED``: how long the other claim's lease still runs."""


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
    lease: datetime | None = None
    """The lease of the claim this outcome follows (None: written without a claim, e.g. expired)."""


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset round trip when a connection goes back to the pool: the store sets no session state, and
    asyncpg still rolls back a transaction left open."""


def _claim(row: asyncpg.Record | None) -> Claim:
    if row is None:
        return Claim(RowState.MISSING)
    found = row["found"]
    if row["became"] == Status.SENDING:
        return Claim(RowState.DONE, found, lease=row["lease"])
    if row["became"] is not None:
        return Claim(RowState.SUPPRESSED, found)
    state = _AS_FOUND.get(Status(found), RowState.REFUSED)
    return Claim(state, found, wait_seconds=row["lease_left"] or 0.0)


def _written(row: asyncpg.Record | None) -> RowState:
    if row is None:
        return RowState.MISSING
    if row["written"]:
        return RowState.DONE
    return RowState.DELIVERED if _AS_FOUND.get(Status(row["found"])) is RowState.DELIVERED else RowState.REFUSED


def _json(detail: dict[str, Any]) -> str:
    return orjson.dumps(detail, default=str).decode()


Item = TypeVar("Item")
Answer = TypeVar("Answer")


async def _in_rounds(
    items: Sequence[Item], key: Callable[[Item], Hashable], run: Callable[[list[Item]], Awaitable[list[Answer]]]
) -> list[Answer]:
    """``run`` over the items with distinct keys, then again over the repeats: a second copy of a notification
    in the same batch then meets what the first did, as it would one batch later."""
    seen: set[Hashable] = set()
    firsts: list[int] = []
    repeats: list[int] = []
    for index, item in enumerate(items):
        (repeats if key(item) in seen else firsts).append(index)
        seen.add(key(item))
    answers: dict[int, Answer] = dict(zip(firsts, await run([items[i] for i in firsts]), strict=True))
    if repeats:
        answers.update(zip(repeats, await _in_rounds([items[i] for i in repeats], key, run), strict=True))
    return [answers[index] for index in range(len(items))]


@dataclass(frozen=True, slots=True)
class _ClaimRequest:
    notification_id: uuid.UUID
    attempt: int
    address: str | None
    transactional: bool


class StatusStore:
    """Claims and outcome writes on the notifications database; concurrent calls share round trips.

    ``lease_seconds`` is how long a claim holds its row: twice the provider timeout, so a worker that is alive
    always writes its outcome within it."""

    def __init__(self, pool: asyncpg.Pool, *, lease_seconds: float, linger_seconds: float = 0.0) -> None:
        self._pool = pool
        self._lease_seconds = lease_seconds
        self._claims: Batcher[_ClaimRequest, Claim] = Batcher(
            self._claim_batch, name="claim", linger_seconds=linger_seconds
        )
        self._writes: Batcher[Outcome, RowState] = Batcher(
            self._write_batch, name="outcome", linger_seconds=linger_seconds
        )

    @classmethod
    async def open(
        cls, database_url: str, *, lease_seconds: float, pool_size: int = 4, linger_seconds: float = 0.0
    ) -> StatusStore:
        """A store on ``database_url``; connections open lazily, so this works while the database is down.
        ``linger_seconds``: how long a batch of claims or outcomes waits for more under steady load."""
        pool = await asyncpg.create_pool(
            plain_url(database_url), min_size=0, max_size=pool_size, reset=_keep_session, command_timeout=15
        )
        return cls(pool, lease_seconds=lease_seconds, linger_seconds=linger_seconds)

    async def claim(
        self, notification_id: str, attempt: int, email_address: str | None = None, *, transactional: bool = True
    ) -> Claim:
        """Claim the notification for attempt number ``attempt`` (``sending`` under a lease, with its event)
        when the status machine allows it; ``email_address`` is checked against the suppression list (a
        ``complaint`` blocks it only when it is not ``transactional``)."""
        address = email_address.lower() if email_address else None
        return await self._claims.submit(_ClaimRequest(uuid.UUID(notification_id), attempt, address, transactional))

    async def write(self, outcome: Outcome) -> RowState:
        """Record ``outcome`` (with its event, and its suppression when it has one) when the status machine and
        the lease allow it."""
        return await self._writes.submit(outcome)

    async def ping(self) -> bool:
        """True when the database answers."""
        return bool(await self._pool.fetchval("SELECT 1", timeout=2))

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def _claim_batch(self, requests: Sequence[_ClaimRequest]) -> list[Claim]:
        return await _in_rounds(requests, lambda request: request.notification_id, self._claim_round)

    async def _claim_round(self, requests: list[_ClaimRequest]) -> list[Claim]:
        ids = [request.notification_id for request in requests]
        rows = await self._pool.fetch(
            CLAIM_SQL,
            ids,
            [request.attempt for request in requests],
            [request.address for request in requests],
            self._lease_seconds,
            [request.transactional for request in requests],
        )
        found = {row["id"]: row for row in rows}
        return [_claim(found.get(key)) for key in ids]

    async def _write_batch(self, outcomes: Sequence[Outcome]) -> list[RowState]:
        return await _in_rounds(outcomes, lambda outcome: outcome.notification_id, self._write_round)

    async def _write_round(self, outcomes: list[Outcome]) -> list[RowState]:
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
            [outcome.lease for outcome in outcomes],
        )
        found = {row["id"]: row for row in rows}
        return [_written(found.get(key)) for key in ids]
