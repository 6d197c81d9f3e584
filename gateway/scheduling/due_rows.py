"""The scheduler's statements over ``notification_statuses``: claim the rows that are due, write what became of
them (with their events and webhook events) in the claim's transaction, and ask when the next one is due."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.notification_tables import Status, blocks, transition_allowed
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX

MAX_BATCH = 500
"""The most rows one claim takes: the rows stay locked while their profiles are read and they are rendered."""

CLAIM = """
SELECT id, application_id, user_id, channel, template_slug, priority, request_id, metadata, expires_at,
       created_at, render_input, send_at
FROM notification_statuses
WHERE status = 'scheduled' AND send_at <= now() + make_interval(secs => $2)
ORDER BY send_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
"""Up to ``$1`` rows due within ``$2`` seconds, oldest due first (``ix_notification_statuses_send_at``).
``SKIP LOCKED``: every gateway claims at once without two taking the same row, and never waits (so it needs
no lock order)."""

GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
"""Run first in the claim's transaction. PostgreSQL plans a prepared statement's first five executions for their
parameter values, and :data:`RESOLVE`'s custom plans for a batch of 500 took 2-9 s each where its generic plan
takes 15-50 ms (measured: a fresh table of 15,000 scheduled rows, with and without ANALYZE): with four
connections that made the first scheduled sends of the bench's scheduling phase 20-30 s late (bench/README.md,
round two)."""

SECONDS_TO_NEXT = (
    "SELECT EXTRACT(EPOCH FROM min(send_at) - now())::float8 FROM notification_statuses WHERE status = 'scheduled'"
)
"""How long until the earliest scheduled row is due, on the database's clock (the one the claim compares with);
NULL when none is scheduled."""

SECONDS_UNTIL = "SELECT EXTRACT(EPOCH FROM $1::timestamptz - clock_timestamp())::float8"
"""How long until an instant, on the database's clock."""

_STORED_STATUS = "CASE WHEN m.suppressed THEN 'skipped' ELSE m.status END"
_MAY_BECOME_STORED = transition_allowed("s.status", _STORED_STATUS)

_BLOCKS = blocks("e", "input.transactional")

RESOLVE = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::timestamptz[], $8::text[],
        $9::bool[]
    ) AS t(id, status, reason, envelope, template_version, template_locale, send_at, address, transactional)
), marked AS (
    SELECT input.*, input.status = 'queued' AND EXISTS (
        SELECT 1 FROM email_suppressions AS e JOIN notification_statuses AS n ON n.application_id = e.application_id
        WHERE n.id = input.id AND e.address = input.address AND {_BLOCKS}
    ) AS suppressed
    FROM input
), changed AS (
    UPDATE notification_statuses AS s
    SET status = {_STORED_STATUS},
        reason = CASE WHEN m.suppressed THEN 'suppressed' ELSE m.reason END,
        envelope = CASE WHEN m.suppressed THEN NULL ELSE m.envelope END,
        template_version = COALESCE(m.template_version, s.template_version),
        template_locale = COALESCE(m.template_locale, s.template_locale),
        send_at = COALESCE(m.send_at, s.send_at),
        render_input = CASE WHEN m.status = 'scheduled' THEN s.render_input END,
        updated_at = now()
    FROM marked AS m
    WHERE s.id = m.id AND s.status = 'scheduled'
      AND (m.status = 'scheduled' OR {_MAY_BECOME_STORED})
    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, status, detail)
    SELECT id, status, CASE WHEN reason IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('reason', reason) END
    FROM changed WHERE status <> 'scheduled'
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT id, status FROM changed
"""  # noqa: S608 - constants only
"""Writes what became of claimed rows, in one statement: ``queued`` with the envelope (``skipped`` /
``suppressed`` when the address is suppressed, as the insert does), ``skipped`` or ``cancelled`` with a reason,
or still ``scheduled`` with a later ``send_at`` (quiet hours: no event, the status did not change)."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What becomes of one claimed row."""

    id: uuid.UUID
    status: Status
    reason: str | None = None
    envelope: bytes | None = None
    template_version: int | None = None
    template_locale: str | None = None
    send_at: datetime | None = None
    """The later time a row that stays ``scheduled`` is due."""
    address: str | None = None
    """The email address a queued email goes to, checked against the suppressions."""
    transactional: bool = True
    """Whether its category is transactional: a ``complaint`` suppression does not block it."""


async def resolve(connection: Any, resolutions: Sequence[Resolution]) -> dict[uuid.UUID, str]:
    """Write ``resolutions`` in the claim's transaction; the status each row was stored with."""
    rows = await connection.fetch(
        RESOLVE,
        [r.id for r in resolutions],
        [r.status for r in resolutions],
        [r.reason for r in resolutions],
        [r.envelope for r in resolutions],
        [r.template_version for r in resolutions],
        [r.template_locale for r in resolutions],
        [r.send_at for r in resolutions],
        [r.address.lower() if r.address else None for r in resolutions],
        [r.transactional for r in resolutions],
    )
    return {row["id"]: row["status"] for row in rows}
