"""The gateway's reads and writes of the ``notifications`` database (tables: ``common.notification_tables``).
Each write is one statement, atomic on its own, so none needs an explicit transaction. Every read and every
write a caller asks for is confined to the caller's application: another application's notification is as
unknown as one that never existed (docs/design.md §7).

New rows are batched: the sends that arrive while a batch is being written go together into the next one
(``common.batching``: no timer, so a lone send is written at once). Each send still waits for the
commit of the statement that holds its own row before it publishes and answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from common.batching import Batcher
from common.notification_tables import Status, blocks, may_become
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX
from gateway.notification_filters import NotificationFilters
from gateway.read_routing import read_by_id

T = TypeVar("T")

_BLOCKS = blocks("s", "input.transactional")

_INSERT_ROWS = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
        $10::text[], $11::jsonb[], $12::bytea[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::uuid[],
        $17::uuid[], $18::timestamptz[], $19::jsonb[], $20::uuid[], $21::bool[]
    ) AS t(id, channel, user_id, template_slug, template_version, template_locale, priority, status, reason,
           request_id, metadata, envelope, expires_at, created_at, address, application_id, batch_id, send_at,
           render_input, broadcast_id, transactional)
), marked AS (
    SELECT input.*, EXISTS (
        SELECT 1 FROM email_suppressions s
        WHERE s.application_id = input.application_id AND s.address = input.address AND {_BLOCKS}
    ) AS suppressed
    FROM input
), changed AS (
    INSERT INTO notification_statuses AS s (
        id, channel, user_id, template_slug, template_version, template_locale, priority, status, reason,
        request_id, metadata, envelope, expires_at, created_at, updated_at, application_id, batch_id, send_at,
        render_input, broadcast_id
    )
    SELECT id, channel, user_id, template_slug, template_version, template_locale, priority,
           CASE WHEN suppressed THEN 'skipped' ELSE status END,
           CASE WHEN suppressed THEN 'suppressed' ELSE reason END,
           request_id, metadata,
           CASE WHEN suppressed THEN NULL ELSE envelope END,
           expires_at, created_at, created_at, application_id, batch_id, send_at,
           CASE WHEN suppressed THEN NULL ELSE render_input END, broadcast_id
    FROM marked
"""  # noqa: S608 - constants only
"""The first part of the statements that insert new rows: up to the INSERT's ``ON CONFLICT`` clause, if any."""
_INSERTED = f"""    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, at, status, detail)
    SELECT id, created_at, status,
           CASE WHEN reason IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('reason', reason) END
    FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT id, status, reason FROM changed
"""  # noqa: S608 - constants only
"""The rest: what the INSERT returns, the first events and the webhook outbox."""

_CREATE = _INSERT_ROWS + _INSERTED
"""Inserts any number of rows with their first events in one statement (one transaction): a row whose email
address is suppressed becomes ``skipped`` with reason ``suppressed`` and keeps no envelope. Each first event
goes to the webhook outbox where an endpoint subscribes (``common.webhook_outbox``)."""
_SKIP_EXISTING = "    ON CONFLICT (id) DO NOTHING\n"
_CREATE_NEW = _INSERT_ROWS + _SKIP_EXISTING + _INSERTED
""":data:`_CREATE` for rows whose ids are deterministic (a fan-out's): a row whose id exists is left as it is,
without an event, and is not answered."""

_FORGET = """
WITH forgotten AS (
    DELETE FROM notification_statuses
    WHERE id = ANY($1::uuid[]) AND status = 'queued' AND published_at IS NULL
    RETURNING id
)
DELETE FROM webhook_outbox AS o USING forgotten AS f WHERE o.notification_id = f.id
"""
"""Deletes rows that were never published, with its events (cascade) and its webhook event still in the outbox:
their send was answered 503, so no ``notification.queued`` should reach an endpoint (one already expanded into
deliveries goes out: docs/design.md §7)."""

_MARK_PUBLISHED = """
WITH locked AS MATERIALIZED (
    -- lock order: common/notification_tables.py (only the rows to stamp)
    SELECT id FROM notification_statuses
    WHERE id = ANY($1::uuid[]) AND published_at IS NULL AND status = 'queued' ORDER BY id FOR UPDATE
)
UPDATE notification_statuses AS s SET published_at = now() FROM locked AS l WHERE s.id = l.id
"""

_LOCK_USER_ROWS = """
SELECT id FROM notification_statuses WHERE application_id = $1 AND user_id = $2 ORDER BY id FOR UPDATE
"""
"""Every row of one user of one application, locked in id order (the lock order of
common/notification_tables.py)."""

_MAY_CANCEL = may_become(Status.CANCELLED, "s.status")

_CANCEL = f"""
WITH locked AS MATERIALIZED (
    -- lock order: common/notification_tables.py, the same row lock as the workers' claim
    SELECT {CHANGED_COLUMNS} FROM notification_statuses AS s
    WHERE s.id = ANY($1::uuid[]) AND s.application_id = $2 ORDER BY s.id FOR UPDATE
), changed AS (
    UPDATE notification_statuses AS s
    SET status = 'cancelled', reason = $3, next_attempt_at = NULL, render_input = NULL, updated_at = now()
    FROM locked AS l
    WHERE s.id = l.id AND {_MAY_CANCEL}
    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT id, 'cancelled', attempts, jsonb_build_object('reason', $3::text) FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT * FROM changed
UNION ALL
SELECT * FROM locked WHERE id NOT IN (SELECT id FROM changed)
"""  # noqa: S608 - constants only
"""Cancels, with reason ``$3``, the rows of application ``$2`` among ``$1`` that no worker has claimed (scheduled,
queued, retrying): a copy of the envelope that reaches a worker later is acked unsent, and a scheduled one's
variables, never to be rendered now, are dropped. It locks them as the
workers' claim does, so a cancel and a claim of one row are decided one after the other, never both
(docs/design.md §3 PostgreSQL, "Cancel"). Answers every row found, as it is after the statement."""

_ERASE = """
WITH erased AS (
    UPDATE notification_statuses
    SET envelope = NULL, render_input = NULL, last_error = NULL, metadata = '{}'::jsonb,
        erased_at = COALESCE(erased_at, now())
    WHERE id = ANY($1::uuid[])
    RETURNING id
)
UPDATE notification_events AS e
SET detail = CASE WHEN e.detail ? 'reason' THEN jsonb_build_object('reason', e.detail -> 'reason') ELSE '{}' END
FROM erased WHERE e.notification_id = erased.id AND e.detail <> '{}'::jsonb
"""
"""Erases what may identify the user: the envelope (address or device tokens, rendered content), a scheduled
row's variables, the last
error and event details (provider replies quote addresses and tokens) and the caller's metadata; a
machine-readable ``reason`` is kept."""

_PENDING_OF_BROADCAST = f"""
SELECT id FROM notification_statuses AS s
WHERE s.broadcast_id = $1 AND s.application_id = $2 AND {_MAY_CANCEL}
ORDER BY s.id
"""  # noqa: S608 - constants only
"""The ids of a broadcast's rows that a cancel may still call off (its partial index on ``(broadcast_id, id)``)."""
CANCEL_CHUNK = 1000
"""Rows one cancel statement of a broadcast locks at most, so a large broadcast never holds them all at once."""

USER_DELETED = "user_deleted"
"""The reason of a notification cancelled because its user was deleted."""
CANCELLED_BY_CLIENT = "cancelled_by_client"
BROADCAST_CANCELLED = "broadcast_cancelled"
"""The reason of a notification cancelled with its broadcast (``POST /v1/broadcasts/{id}/cancel``)."""
"""The reason of a notification cancelled by ``POST /v1/notifications/{id}/cancel``."""
CANCEL_LOCK_TIMEOUT = "2s"
"""How long a client's cancel waits for the row's lock before it answers that it could not decide
(docs/api.md "Cancel")."""


class NotificationBusy(Exception):
    """Another transaction held the notification's row for all of :data:`CANCEL_LOCK_TIMEOUT`."""


_STATUS_COLUMNS = (
    "id, user_id, channel, template_slug, template_version, template_locale, priority, status, reason, attempts, "
    "last_error, metadata, expires_at, created_at, updated_at, delivered_at, batch_id, send_at, broadcast_id"
)
_GET = (
    f"SELECT {_STATUS_COLUMNS} FROM notification_statuses "  # noqa: S608 - constant columns
    "WHERE id = $2 AND application_id = $1"
)
_MANY = (
    f"SELECT {_STATUS_COLUMNS} FROM notification_statuses "  # noqa: S608 - constant columns
    "WHERE id = ANY($2::uuid[]) AND ($1::uuid IS NULL OR application_id = $1)"
)
_PAGE = "SELECT {columns}, request_id FROM notification_statuses WHERE {where} ORDER BY id DESC LIMIT {limit}"
_FEED = (
    "SELECT id, channel, template_slug, status, envelope, created_at, updated_at FROM notification_statuses "
    "WHERE application_id = $1 AND user_id = $2 AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
)
_EVENTS = (
    "SELECT e.at, e.status, e.attempt, e.detail FROM notification_events AS e "
    "JOIN notification_statuses AS s ON s.id = e.notification_id AND s.application_id = $1 "
    "WHERE e.notification_id = $2 ORDER BY e.id"
)
_EXISTS = "SELECT 1 FROM notification_statuses WHERE id = $2 AND application_id = $1"
_CONTENT = "SELECT channel, envelope FROM notification_statuses WHERE id = $2 AND application_id = $1"


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification row to create, with its first event."""

    id: uuid.UUID
    application_id: uuid.UUID
    channel: str
    user_id: uuid.UUID
    template_slug: str
    template_version: int | None
    template_locale: str | None
    priority: str
    status: str
    reason: str | None
    request_id: str | None
    metadata: dict[str, str]
    envelope: bytes | None
    expires_at: datetime | None
    created_at: datetime
    email_address: str | None
    """Checked against ``email_suppressions``: a suppressed address makes the row ``skipped``."""
    batch_id: uuid.UUID | None = None
    """The batch send that writes it, if one does."""
    send_at: datetime | None = None
    """When a ``scheduled`` row is due."""
    render_input: dict[str, Any] | None = None
    """What a ``scheduled`` row needs to be rendered when due (``gateway.scheduling.due``)."""
    broadcast_id: uuid.UUID | None = None
    """The topic send whose fan-out writes it, if one does."""
    transactional: bool = True
    """Whether its category is transactional: a ``complaint`` suppression does not block it."""


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A notification as its recipient's feed shows it: what it is, where it stands, and its stored envelope."""

    id: uuid.UUID
    channel: str
    template_slug: str
    status: str
    envelope: bytes | None
    """The published ``MessageEnvelope`` while the content is kept; None once erased (or never stored)."""
    created_at: datetime
    updated_at: datetime


def _keyset_page(items: list[T], rows: Sequence[Mapping[str, Any]], limit: int) -> tuple[list[T], uuid.UUID | None]:
    """The first ``limit`` of ``items`` (made from ``rows``, fetched one over the limit) and the id to continue
    before when there are more."""
    more = len(rows) > limit
    return items[:limit], rows[limit - 1]["id"] if more else None


def status_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A status row as the REST body of docs/design.md §3 REST."""
    return {
        "notification_id": row["id"],
        "user_id": row["user_id"],
        "channel": row["channel"],
        "template": row["template_slug"],
        "template_version": row["template_version"],
        "locale": row["template_locale"],
        "priority": row["priority"],
        "status": row["status"],
        "reason": row["reason"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "metadata": row["metadata"],
        "expires_at": row["expires_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "delivered_at": row["delivered_at"],
        "batch_id": row["batch_id"],
        "send_at": row["send_at"],
        "broadcast_id": row["broadcast_id"],
    }


class NotificationStore:
    """Status rows and their history, over an asyncpg pool."""

    def __init__(self, pool: Any, *, read_pool: Any = None, linger_seconds: float = 0.0) -> None:
        self.pool = pool
        self.read_pool = read_pool
        """The read replica's pool, or None: reads by id go there by the rule of ``gateway.read_routing``."""
        self._creates: Batcher[NewNotification, tuple[str, str | None] | Exception] = Batcher(
            self._create_batch, name="notification_insert", linger_seconds=linger_seconds
        )

    async def create(self, notification: NewNotification) -> tuple[str, str | None]:
        """Insert the row and its first event (together with the rows of concurrent sends); returns the stored
        (status, reason), which is ``("skipped", "suppressed")`` when the email address is suppressed."""
        result = await self._creates.submit(notification)
        if isinstance(result, Exception):
            raise result
        return result

    async def _create_batch(self, batch: Sequence[NewNotification]) -> list[tuple[str, str | None] | Exception]:
        """One statement for the whole batch; should it fail, each row alone, so one bad row fails only its own
        send (a failure of the database itself then fails each of them again, which is what they should see)."""
        try:
            return list(await self._insert(batch))
        except Exception as error:
            if len(batch) == 1:
                return [error]
        results: list[tuple[str, str | None] | Exception] = []
        for notification in batch:
            try:
                results.extend(await self._insert([notification]))
            except Exception as error:
                results.append(error)
        return results

    async def _insert(self, batch: Sequence[NewNotification]) -> list[tuple[str, str | None]]:
        stored = await self._insert_rows(_CREATE, batch)
        return [stored[n.id] for n in batch]

    async def _insert_rows(
        self, statement: str, batch: Sequence[NewNotification]
    ) -> dict[uuid.UUID, tuple[str, str | None]]:
        rows = await self.pool.fetch(
            statement,
            [n.id for n in batch],
            [n.channel for n in batch],
            [n.user_id for n in batch],
            [n.template_slug for n in batch],
            [n.template_version for n in batch],
            [n.template_locale for n in batch],
            [n.priority for n in batch],
            [n.status for n in batch],
            [n.reason for n in batch],
            [n.request_id for n in batch],
            [n.metadata for n in batch],
            [n.envelope for n in batch],
            [n.expires_at for n in batch],
            [n.created_at for n in batch],
            [n.email_address.lower() if n.email_address else None for n in batch],
            [n.application_id for n in batch],
            [n.batch_id for n in batch],
            [n.send_at for n in batch],
            [n.render_input for n in batch],
            [n.broadcast_id for n in batch],
            [n.transactional for n in batch],
        )
        return {row["id"]: (row["status"], row["reason"]) for row in rows}

    async def insert_many(self, notifications: Sequence[NewNotification]) -> list[tuple[str, str | None]]:
        """Insert the rows and their first events in one statement of their own (a page of a batch or a
        fan-out); the stored (status, reason) of each, in order, as :meth:`create` returns it."""
        return await self._insert(notifications)

    async def insert_new(self, notifications: Sequence[NewNotification]) -> dict[uuid.UUID, tuple[str, str | None]]:
        """:meth:`insert_many` for rows with deterministic ids: a row whose id exists already is left alone; the
        stored (status, reason) of each row inserted now, by id (a resumed fan-out publishes only those)."""
        return await self._insert_rows(_CREATE_NEW, notifications)

    async def forget(self, notification_id: uuid.UUID) -> None:
        """Delete a ``queued`` row that was never published (its publish failed), with its events and its webhook
        event not yet taken from the outbox."""
        await self.forget_many([notification_id])

    async def forget_many(self, notification_ids: Sequence[uuid.UUID]) -> None:
        """:meth:`forget` for many rows, in one statement."""
        await self.pool.execute(_FORGET, list(notification_ids))

    async def mark_published(self, ids: Sequence[uuid.UUID]) -> None:
        """Stamp ``published_at`` on rows whose publish the broker confirmed and that no worker claimed yet (a
        claim sets it itself)."""
        await self.pool.execute(_MARK_PUBLISHED, list(ids))

    async def erase_user(self, application_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Cancel what is still pending for a deleted user of ``application_id`` and erase the personal data of
        all their rows there, in one transaction."""
        async with self.pool.acquire() as connection, connection.transaction():
            ids = [row["id"] for row in await connection.fetch(_LOCK_USER_ROWS, application_id, user_id)]
            if ids:
                await connection.execute(_ERASE, ids)
                # after the erasure, so a webhook's snapshot of the cancel holds no personal data either
                await connection.execute(_CANCEL, ids, application_id, USER_DELETED)

    async def cancel(self, application_id: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """Cancel one notification of ``application_id`` unless a worker claimed it or it is final; its status
        body as it is afterwards (``cancelled``, or why not), or None when the application has no such one.
        Raises :class:`NotificationBusy` when its row stayed locked, so a client is never kept waiting long."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(f"SET LOCAL lock_timeout = '{CANCEL_LOCK_TIMEOUT}'")
            try:
                row = await connection.fetchrow(_CANCEL, [notification_id], application_id, CANCELLED_BY_CLIENT)
            except asyncpg.exceptions.LockNotAvailableError:
                raise NotificationBusy(str(notification_id)) from None
        return status_body(row) if row else None

    async def cancel_broadcast(self, application_id: uuid.UUID, broadcast_id: uuid.UUID) -> None:
        """Cancel the broadcast's rows of ``application_id`` that no worker has claimed, with the statement of a
        client's cancel, a chunk of rows at a time."""
        ids = [row["id"] for row in await self.pool.fetch(_PENDING_OF_BROADCAST, broadcast_id, application_id)]
        for start in range(0, len(ids), CANCEL_CHUNK):
            await self.pool.execute(_CANCEL, ids[start : start + CANCEL_CHUNK], application_id, BROADCAST_CANCELLED)

    async def get(self, application_id: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """The status body of one notification of ``application_id``, or None. From the read replica when the
        id is old enough (``gateway.read_routing``)."""

        async def read(pool: Any) -> dict[str, Any] | None:
            row = await pool.fetchrow(_GET, application_id, notification_id)
            return status_body(row) if row else None

        return await read_by_id(self.pool, self.read_pool, notification_id, read)

    async def content(self, application_id: uuid.UUID, notification_id: uuid.UUID) -> tuple[str, bytes | None] | None:
        """The channel and stored envelope (None once erased) of one notification of ``application_id``, or None;
        always from the primary, since a replica may lag behind the erasure."""
        row = await self.pool.fetchrow(_CONTENT, application_id, notification_id)
        return (row["channel"], row["envelope"]) if row else None

    async def get_many(
        self, application_id: uuid.UUID | None, notification_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The status bodies of those of ``notification_ids`` that exist (in ``application_id``; None: any)."""
        if not notification_ids:
            return {}
        rows = await self.pool.fetch(_MANY, application_id, list(notification_ids))
        return {row["id"]: status_body(row) for row in rows}

    async def page(
        self,
        application_id: uuid.UUID,
        filters: NotificationFilters,
        *,
        before: uuid.UUID | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
        """The application's notifications that match ``filters``, newest first (keyset on the time-ordered
        id), each with its ``request_id``; the id to continue before, if any."""
        where, arguments = filters.where(application_id, before)
        query = _PAGE.format(columns=_STATUS_COLUMNS, where=where, limit=f"${len(arguments) + 1}")
        rows = await self.pool.fetch(query, *arguments, limit + 1)
        items = [{**status_body(row), "request_id": row["request_id"]} for row in rows]
        return _keyset_page(items, rows, limit)

    async def feed(
        self, application_id: uuid.UUID, user_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> tuple[list[FeedRow], uuid.UUID | None]:
        """One user's notifications newest first, with their stored envelopes (None once erased); the id to
        continue before, if any."""
        rows = await self.pool.fetch(_FEED, application_id, user_id, before, limit + 1)
        return _keyset_page([FeedRow(**row) for row in rows], rows, limit)

    async def events(self, application_id: uuid.UUID, notification_id: uuid.UUID) -> list[dict[str, Any]] | None:
        """The history of one notification of ``application_id``, oldest first; None when the application has
        no such notification. From the read replica when the id is old enough (``gateway.read_routing``)."""

        async def read(pool: Any) -> list[dict[str, Any]] | None:
            async with pool.acquire() as connection:
                rows = await connection.fetch(_EVENTS, application_id, notification_id)
                if not rows and await connection.fetchval(_EXISTS, application_id, notification_id) is None:
                    return None
            return [dict(row) for row in rows]

        return await read_by_id(self.pool, self.read_pool, notification_id, read)

    async def ping(self) -> None:
        """Raises unless the database answers."""
        await self.pool.fetchval("SELECT 1")
