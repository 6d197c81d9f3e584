"""What a report changes in the ``notifications`` database (docs/design.md §7 "Mail that comes back"), each in
one transaction over the notification's row, locked as every status writer locks it:

- a hard bounce (5.x.x): a ``delivered`` row becomes ``bounced`` (reason ``hard_bounce``) with its event and its
  ``notification.bounced`` webhook event, and the address gets a ``hard_bounce`` suppression. A row that is not
  (yet) delivered keeps its status: ``sending`` means the worker's outcome is not written yet, so the report is
  refused for now (:class:`NotYetDelivered`, SMTP 451: the reporting system sends it again later); any other
  status still gets the suppression, so a retry or the next send is skipped.
- a delay (4.x.x): an event in the history, nothing else.
- a complaint: a ``complaint`` suppression, an event in the history, and an ``email.complained`` webhook event.

The suppressed address is the one the notification was sent to (its stored envelope); once the envelope is gone
(content retention) the report's own address is used, and none when the user was erased.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

import asyncpg
import orjson

from common.envelope import EnvelopeError, decode_envelope
from common.notification_tables import Status, may_become
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX
from inbound.reports import ComplaintReport, DeliveryReport, Severity

HARD_BOUNCE = "hard_bounce"
COMPLAINT = "complaint"
COMPLAINED_EVENT = "email.complained"

_MAY_BOUNCE = may_become(Status.BOUNCED, "s.status")

LOCK_ROW = """
SELECT id, application_id, user_id, status, attempts, envelope, erased_at IS NOT NULL AS erased,
       provider_message_id
FROM notification_statuses WHERE id = $1 FOR UPDATE
"""

BOUNCE = f"""
WITH changed AS (
    UPDATE notification_statuses AS s
    SET status = 'bounced', reason = '{HARD_BOUNCE}', last_error = $2, updated_at = now()
    WHERE s.id = $1 AND {_MAY_BOUNCE}
    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT id, status, attempts, $3::jsonb FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT count(*) FROM changed
"""  # noqa: S608 - constants only
"""Makes the row ``$1`` ``bounced`` when the status machine allows it, with its event and webhook event."""

NOTE = "INSERT INTO notification_events (notification_id, status, attempt, detail) VALUES ($1, $2, $3, $4::jsonb)"
"""An event in the history that leaves the status as it is (a delay warning, a complaint)."""

SUPPRESS = """
INSERT INTO email_suppressions (application_id, address, reason, notification_id)
VALUES ($1, lower($2), $3, $4)
ON CONFLICT (application_id, address) DO NOTHING
"""
"""A suppression; an address already suppressed keeps its first reason (a hard bounce outranks a complaint)."""

COMPLAINED = f"""
INSERT INTO webhook_outbox (application_id, event_type, notification_id, data)
SELECT $1, '{COMPLAINED_EVENT}', $2, $3::jsonb
WHERE EXISTS (
    SELECT 1 FROM webhook_endpoints AS w
    WHERE w.application_id = $1 AND w.enabled
      AND (w.events @> ARRAY['{COMPLAINED_EVENT}'] OR w.events @> ARRAY['*'])
)
"""  # noqa: S608 - constants only
"""The ``email.complained`` event, only when an enabled endpoint of the application subscribes to it."""


class Recorded(Enum):
    """What a report did, as the metrics count it."""

    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"
    """A hard bounce about a notification that was not delivered: only the suppression."""
    DELAYED = "delayed"
    COMPLAINED = "complained"
    UNMATCHED = "unmatched"
    """No notification (or no address) to record it on: dropped."""


class NotYetDelivered(Exception):
    """The notification is still ``sending``: the report is early and should be sent again later."""


@dataclass(frozen=True)
class _Row:
    id: uuid.UUID
    application_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    attempts: int
    address: str | None
    erased: bool

    @classmethod
    def of(cls, record: asyncpg.Record) -> _Row:
        address = None
        if record["envelope"] is not None:
            with contextlib.suppress(EnvelopeError):
                address = decode_envelope(record["envelope"]).email_recipient.address or None
        return cls(
            record["id"],
            record["application_id"],
            record["user_id"],
            record["status"],
            record["attempts"],
            address,
            record["erased"],
        )

    def recipient(self, reported: str | None) -> str | None:
        """The address to suppress: the one sent to, else the report's, none for an erased user."""
        return None if self.erased else self.address or reported


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


class Records:
    """Records reports on a connection pool of the notifications database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def delivery(self, notification_id: uuid.UUID, report: DeliveryReport) -> Recorded:
        """Record a DSN about ``notification_id`` (whose return path it came to)."""
        async with self._pool.acquire() as connection, connection.transaction():
            record = await connection.fetchrow(LOCK_ROW, notification_id)
            if record is None:
                return Recorded.UNMATCHED
            row = _Row.of(record)
            detail = {} if row.erased else report.detail()
            if report.severity is Severity.DELAYED:
                await connection.execute(NOTE, row.id, row.status, row.attempts, _json(detail))
                return Recorded.DELAYED
            if row.status == Status.SENDING:
                raise NotYetDelivered(str(notification_id))
            address = row.recipient(report.recipient)
            if address is not None:
                await connection.execute(SUPPRESS, row.application_id, address, HARD_BOUNCE, row.id)
            error = None if row.erased else " ".join(filter(None, (report.status, report.diagnostic)))
            if await connection.fetchval(BOUNCE, row.id, error, _json(detail)):
                return Recorded.BOUNCED
            return Recorded.SUPPRESSED if address is not None else Recorded.UNMATCHED

    async def complaint(self, report: ComplaintReport) -> Recorded:
        """Record a feedback-loop complaint about the notification whose ``Message-ID`` it quotes."""
        notification_id = _notification_id(report.message_id)
        if notification_id is None:
            return Recorded.UNMATCHED
        async with self._pool.acquire() as connection, connection.transaction():
            record = await connection.fetchrow(LOCK_ROW, notification_id)
            if record is None or record["provider_message_id"] != f"<{report.message_id}>":
                return Recorded.UNMATCHED
            row = _Row.of(record)
            address = row.recipient(report.recipient)
            if address is None:
                return Recorded.UNMATCHED
            await connection.execute(SUPPRESS, row.application_id, address, COMPLAINT, row.id)
            await connection.execute(NOTE, row.id, row.status, row.attempts, _json({"complaint": report.feedback_type}))
            data = {
                "address": address.lower(),
                "user_id": str(row.user_id),
                "notification_id": str(row.id),
                "feedback_type": report.feedback_type,
            }
            await connection.execute(COMPLAINED, row.application_id, row.id, _json(data))
            return Recorded.COMPLAINED

    async def ping(self) -> bool:
        """True when the database answers."""
        return bool(await self._pool.fetchval("SELECT 1", timeout=2))


def _notification_id(message_id: str) -> uuid.UUID | None:
    """The notification a ``Message-ID`` of ours names (``<notification id>@<domain>``), else None."""
    local = message_id.partition("@")[0]
    try:
        return uuid.UUID(local)
    except ValueError:
        return None
