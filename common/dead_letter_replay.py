"""Replaying a row of ``dead_letters`` after a fix: the one code path of ``POST /v1/dead-letters/.../replay``
and ``python -m delivery.replay`` (docs/operations.md "Dead letters").

The status row goes from ``failed`` back to ``queued`` (attempts 0, reason and last error cleared, not yet
published) with an event ``{"replayed": true, ...}`` and that commits; only then is the envelope, its
``attempt`` reset to 0, published to ``notifications.direct`` with its channel as routing key, so a worker that
takes it at once finds the row claimable (published inside the transaction, its copy could meet the row still
``failed`` and be dropped). Once the broker confirmed, the row is stamped published and the dead letter
deleted. A publish that fails puts the row back to ``failed`` and keeps the dead letter; a replay that dies in
between leaves a ``queued`` row with no ``published_at``, which the gateway's reconciler publishes (the dead
letter then stays until discarded: replaying it again answers that another copy is under way).

Not replayed, kept: poison (a body that is not an envelope), and a dead letter whose row is missing or not
``failed`` (another copy is on its way). Removed without a send: one whose notification is already
``delivered`` (a worker would drop it), or whose user was deleted (it holds their address or device tokens).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from common.amqp.publisher import Publisher, protobuf_message
from common.amqp.topology import FAILED_QUEUE
from common.dead_letter_store import DeadLetterStore, StoredDeadLetter
from common.envelope import EnvelopeError, decode_envelope
from common.notification_tables import Status, may_become
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX

_MAY_REQUEUE = may_become(Status.QUEUED, "s.status")

RESET_SQL = f"""
WITH locked AS MATERIALIZED (
    SELECT id, status, erased_at FROM notification_statuses WHERE id = $1 FOR UPDATE
), changed AS (
    UPDATE notification_statuses AS s
    SET status = 'queued', attempts = 0, reason = NULL, last_error = NULL, next_attempt_at = NULL, lease_until = NULL,
        published_at = NULL, updated_at = now()
    FROM locked AS l
    WHERE s.id = l.id AND s.status = 'failed' AND {_MAY_REQUEUE} AND s.erased_at IS NULL
    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT id, 'queued', 0, $2::text::jsonb FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT l.status, l.erased_at IS NOT NULL AS erased, EXISTS (SELECT 1 FROM changed) AS reset
FROM (SELECT 1) AS one LEFT JOIN locked AS l ON true
"""  # noqa: S608 - constants only
"""Resets a ``failed`` row (the status machine's only way back) unless its user was deleted, and records the
replay (in the webhook outbox too, where an endpoint subscribes); answers the row's status before (None: no
row) and whether its user was deleted."""


STAMP_SQL = "UPDATE notification_statuses SET published_at = now() WHERE id = $1 AND published_at IS NULL"
"""The replayed envelope is in the broker: the reconciler leaves the row to the workers."""

UNDO_SQL = f"""
WITH changed AS (
    UPDATE notification_statuses AS s SET status = 'failed', reason = $2, attempts = $3, updated_at = now()
    WHERE s.id = $1 AND s.status = 'queued' AND s.published_at IS NULL
    RETURNING {CHANGED_COLUMNS}
), logged AS (
    INSERT INTO notification_events (notification_id, status, attempt, detail)
    SELECT id, 'failed', $3, $4::text::jsonb FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT count(*) FROM changed
"""  # noqa: S608 - constants only
"""Puts back a reset row whose envelope the broker did not take (unless a copy was claimed meanwhile)."""


class Action(StrEnum):
    """What became of a dead letter."""

    LISTED = "listed"
    REPLAYED = "replayed"
    REMOVED = "removed"
    KEPT = "kept"


@dataclass(frozen=True)
class Result:
    """One dead letter and what was done with it, and why."""

    letter: StoredDeadLetter
    action: Action
    note: str = ""
    publish_failed: bool = False
    """Kept because the broker did not take the envelope: worth retrying later."""

    def line(self) -> str:
        """A line for the terminal."""
        letter = self.letter
        detail = f"  {letter.detail}" if letter.detail and self.action is Action.LISTED else ""
        note = f"  ({self.note})" if self.note else ""
        return (
            f"{self.action.value:<9}{letter.id!s:<38}{letter.notification_id or '-'!s:<38}"
            f"{letter.channel or '-':<6}{letter.reason} after {letter.attempts} attempt(s){detail}{note}"
        )


class DeadLetterReplayer:
    """Replays rows of ``dead_letters`` with publisher confirms, over one database connection or pool."""

    def __init__(self, db: Any, publisher: Publisher) -> None:
        self._db = db
        self._store = DeadLetterStore(db)
        self._publisher = publisher

    async def replay(self, letter: StoredDeadLetter) -> Result:
        """Send ``letter``'s notification again as the module says; the row is deleted unless kept."""
        result = await self._replay(letter)
        if result.action is not Action.KEPT:
            await self._store.delete(None, letter.id)
        return result

    async def _replay(self, letter: StoredDeadLetter) -> Result:
        try:
            envelope = decode_envelope(letter.body)
        except EnvelopeError as error:
            return Result(letter, Action.KEPT, f"not an envelope: {error}")
        if letter.channel is None or letter.notification_id is None:
            return Result(letter, Action.KEPT, "its work queue is unknown")
        detail = orjson.dumps(
            {
                "replayed": True,
                "from": FAILED_QUEUE,
                "dead_letter_id": str(letter.id),
                "previous_reason": letter.reason,
                "previous_attempts": letter.attempts,
            }
        ).decode()
        notification_id: uuid.UUID = letter.notification_id
        row = await self._db.fetchrow(RESET_SQL, notification_id, detail)
        assert row is not None
        if row["status"] is None:
            return Result(letter, Action.KEPT, "no status row: a worker would drop it")
        if row["status"] == Status.DELIVERED:
            return Result(letter, Action.REMOVED, "already delivered")
        if row["erased"]:
            return Result(letter, Action.REMOVED, "its user was deleted")
        if not row["reset"]:
            return Result(letter, Action.KEPT, f"it is {row['status']}: another copy is under way")
        envelope.attempt = 0
        message = protobuf_message(
            envelope, message_id=envelope.notification_id, correlation_id=envelope.correlation_id or None
        )
        try:
            await self._publisher.publish(self._publisher.topology.direct, message, letter.channel)
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
            undo = orjson.dumps({"replay_failed": problem}).decode()
            await self._db.execute(UNDO_SQL, notification_id, letter.reason, letter.attempts, undo)
            return Result(letter, Action.KEPT, f"the publish failed, the row is failed again: {problem}", True)
        await self._db.execute(STAMP_SQL, notification_id)
        return Result(letter, Action.REPLAYED)
