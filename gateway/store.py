"""The gateway's reads and writes of the ``notifications`` database (``common.notification_tables``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import DateTime, Integer, Text

from common.notification_tables import notification_events, notification_statuses

_CREATE = text(
    """
    WITH suppressed AS (
        SELECT EXISTS (SELECT 1 FROM email_suppressions WHERE address = :address) AS yes
    ), created AS (
        INSERT INTO notification_statuses (
            id, channel, user_id, template_slug, template_version, template_locale, priority, status, reason,
            request_id, metadata, envelope, expires_at, created_at, updated_at
        )
        SELECT :id, :channel, :user_id, :template_slug, :template_version, :template_locale, :priority,
               CASE WHEN suppressed.yes THEN 'skipped' ELSE :status END,
               CASE WHEN suppressed.yes THEN 'suppressed' ELSE :reason END,
               :request_id, :metadata,
               CASE WHEN suppressed.yes THEN NULL ELSE :envelope END,
               :expires_at, :created_at, :created_at
        FROM suppressed
        RETURNING id, status, reason
    ), event AS (
        INSERT INTO notification_events (notification_id, at, status, detail)
        SELECT id, :created_at, status,
               CASE WHEN reason IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', reason) END
        FROM created
    )
    SELECT status, reason FROM created
    """
).bindparams(
    bindparam("address", type_=Text),
    bindparam("id", type_=UUID(as_uuid=True)),
    bindparam("channel", type_=Text),
    bindparam("user_id", type_=UUID(as_uuid=True)),
    bindparam("template_slug", type_=Text),
    bindparam("template_version", type_=Integer),
    bindparam("template_locale", type_=Text),
    bindparam("priority", type_=Text),
    bindparam("status", type_=Text),
    bindparam("reason", type_=Text),
    bindparam("request_id", type_=Text),
    bindparam("metadata", type_=JSONB),
    bindparam("envelope", type_=BYTEA),
    bindparam("expires_at", type_=DateTime(timezone=True)),
    bindparam("created_at", type_=DateTime(timezone=True)),
)

_FORGET = text(
    "DELETE FROM notification_statuses WHERE id = :id AND status = 'queued' AND published_at IS NULL"
).bindparams(bindparam("id", type_=UUID(as_uuid=True)))

_MARK_PUBLISHED = text(
    "UPDATE notification_statuses SET published_at = now() WHERE id = ANY(:ids) AND published_at IS NULL"
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

_STATUS_COLUMNS = (
    notification_statuses.c.id,
    notification_statuses.c.user_id,
    notification_statuses.c.channel,
    notification_statuses.c.template_slug,
    notification_statuses.c.template_version,
    notification_statuses.c.template_locale,
    notification_statuses.c.priority,
    notification_statuses.c.status,
    notification_statuses.c.reason,
    notification_statuses.c.attempts,
    notification_statuses.c.last_error,
    notification_statuses.c.metadata,
    notification_statuses.c.expires_at,
    notification_statuses.c.created_at,
    notification_statuses.c.updated_at,
    notification_statuses.c.delivered_at,
)


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification row to create, with its first event."""

    id: uuid.UUID
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


def status_body(row: Row[Any] | Any) -> dict[str, Any]:
    """A status row as the REST body of CONTRACT.md."""
    return {
        "notification_id": row.id,
        "user_id": row.user_id,
        "channel": row.channel,
        "template": row.template_slug,
        "template_version": row.template_version,
        "locale": row.template_locale,
        "priority": row.priority,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "metadata": row.metadata,
        "expires_at": row.expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "delivered_at": row.delivered_at,
    }


class NotificationStore:
    """Status rows and their history. Single statements run in autocommit: each is atomic on its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def create(self, notification: NewNotification) -> tuple[str, str | None]:
        """Insert the row and its first event in one round trip; returns the stored (status, reason), which is
        ``("skipped", "suppressed")`` when the email address is suppressed."""
        params = {
            "address": notification.email_address.lower() if notification.email_address else None,
            "id": notification.id,
            "channel": notification.channel,
            "user_id": notification.user_id,
            "template_slug": notification.template_slug,
            "template_version": notification.template_version,
            "template_locale": notification.template_locale,
            "priority": notification.priority,
            "status": notification.status,
            "reason": notification.reason,
            "request_id": notification.request_id,
            "metadata": notification.metadata,
            "envelope": notification.envelope,
            "expires_at": notification.expires_at,
            "created_at": notification.created_at,
        }
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_CREATE, params)).one()
        return row.status, row.reason

    async def forget(self, notification_id: uuid.UUID) -> None:
        """Delete a ``queued`` row that was never published (its publish failed), with its events."""
        async with self._autocommit.connect() as connection:
            await connection.execute(_FORGET, {"id": notification_id})

    async def mark_published(self, ids: Sequence[uuid.UUID]) -> None:
        """Stamp ``published_at`` on rows whose publish the broker confirmed."""
        async with self._autocommit.connect() as connection:
            await connection.execute(_MARK_PUBLISHED, {"ids": list(ids)})

    async def get(self, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """The status body of one notification, or None."""
        query = select(*_STATUS_COLUMNS).where(notification_statuses.c.id == notification_id)
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(query)).first()
        return status_body(row) if row else None

    async def page(
        self, *, user_id: uuid.UUID | None, status: str | None, before: uuid.UUID | None, limit: int
    ) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
        """Notifications newest first (keyset on the time-ordered id); the id to continue before, if any."""
        query = select(*_STATUS_COLUMNS).order_by(notification_statuses.c.id.desc()).limit(limit + 1)
        if user_id is not None:
            query = query.where(notification_statuses.c.user_id == user_id)
        if status is not None:
            query = query.where(notification_statuses.c.status == status)
        if before is not None:
            query = query.where(notification_statuses.c.id < before)
        async with self._autocommit.connect() as connection:
            rows = (await connection.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [status_body(row) for row in rows], rows[-1].id if more else None

    async def events(self, notification_id: uuid.UUID) -> list[dict[str, Any]] | None:
        """The history of one notification, oldest first; None when the notification does not exist."""
        query = (
            select(
                notification_events.c.at,
                notification_events.c.status,
                notification_events.c.attempt,
                notification_events.c.detail,
            )
            .where(notification_events.c.notification_id == notification_id)
            .order_by(notification_events.c.id)
        )
        exists = select(notification_statuses.c.id).where(notification_statuses.c.id == notification_id)
        async with self._autocommit.connect() as connection:
            rows = (await connection.execute(query)).all()
            if not rows and (await connection.execute(exists)).first() is None:
                return None
        return [{"at": r.at, "status": r.status, "attempt": r.attempt, "detail": r.detail} for r in rows]
