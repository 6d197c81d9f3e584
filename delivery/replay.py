"""``python -m delivery.replay``: after a fix, move messages of ``failed.queue`` back to the queue they
came from, for email and push alike.

    python -m delivery.replay --dry-run              list the DLQ (or only --id ...), change nothing
    python -m delivery.replay --id <notification id> [--id ...]
    python -m delivery.replay --all

For each chosen message: the status row goes from ``failed`` back to ``queued`` (attempts 0, reason and last
error cleared, not yet published) with an event ``{"replayed": true, ...}`` and that commits; only then is the
envelope, its ``attempt`` reset to 0, published to ``notifications.direct`` with its original routing key, so
a worker that takes it at once finds the row claimable (published inside the transaction, its copy could meet
the row still ``failed`` and be dropped, leaving it ``queued`` for ever). Once the broker confirmed, the row
is stamped published and the DLQ message acked. A publish that fails puts the row back to ``failed`` and
leaves the message in the DLQ; a replay that dies in between leaves a ``queued`` row with no ``published_at``,
which the gateway's reconciler publishes.

Not replayed, left in the DLQ: messages not chosen, poison (a body that is not an envelope), and messages
whose row is missing or not ``failed`` (another copy is still on its way). A message whose notification is
already ``delivered`` is removed: the worker would drop it anyway; so is one whose user was deleted (it holds
their address or device tokens, and is never to be sent).

Reads ``RABBITMQ_URL``, ``RABBITMQ_QUEUE_TYPE`` and ``NOTIFICATIONS_DATABASE_URL`` (then ``DATABASE_URL``), like
the workers. Looking at a message returns it to the queue, which counts as a redelivery for a quorum queue.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import orjson
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from common.amqp.connection import close_after_acks, connect
from common.amqp.publisher import Publisher, protobuf_message
from common.amqp.topology import FAILED_QUEUE
from common.db import plain_url
from common.ids import parse_uuid
from common.notification_tables import Status, may_become
from common.settings import DatabaseServiceSettings, SettingsError, database_url_field, load_settings
from common.webhook_outbox import CHANGED_COLUMNS, LOGGED_COLUMNS, NOTIFICATION_OUTBOX
from delivery.dead_letters import DeadLetter, read_dead_letter

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
    SELECT id, 'queued', 0, $2::jsonb FROM changed
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
    SELECT id, 'failed', $3, $4::jsonb FROM changed
    RETURNING {LOGGED_COLUMNS}
), {NOTIFICATION_OUTBOX}
SELECT count(*) FROM changed
"""  # noqa: S608 - constants only
"""Puts back a reset row whose envelope the broker did not take (unless a copy was claimed meanwhile)."""


class ReplaySettings(DatabaseServiceSettings):
    """What the replay command reads: the broker, its queue type and the notifications database."""

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")


class Action(StrEnum):
    """What became of a DLQ message."""

    LISTED = "listed"
    REPLAYED = "replayed"
    REMOVED = "removed"
    KEPT = "kept"


@dataclass(frozen=True)
class Result:
    """One DLQ message and what was done with it, and why."""

    letter: DeadLetter
    action: Action
    note: str = ""

    def line(self) -> str:
        """A line for the terminal."""
        letter = self.letter
        attempts = "?" if letter.attempts is None else str(letter.attempts)
        detail = f"  {letter.detail}" if letter.detail and self.action is Action.LISTED else ""
        note = f"  ({self.note})" if self.note else ""
        return (
            f"{self.action.value:<9}{letter.notification_id or '-':<38}{letter.routing_key or '-':<7}"
            f"{letter.reason} after {attempts} attempt(s){detail}{note}"
        )


class DlqReplay:
    """Walks ``failed.queue`` once (the messages it held when the walk began) and replays the chosen ones."""

    def __init__(self, connection: AbstractRobustConnection, publisher: Publisher, db: asyncpg.Connection) -> None:
        self._connection = connection
        self._publisher = publisher
        self._db = db

    @classmethod
    async def open(cls, settings: ReplaySettings) -> DlqReplay:
        """Connect to the broker (declaring the topology) and the database."""
        connection = await connect(settings.rabbitmq_url, name="dlq-replay")
        try:
            publisher = await Publisher.create(connection, settings.rabbitmq_queue_type)
            db = await asyncpg.connect(plain_url(settings.database_url))
        except BaseException:
            await connection.close()
            raise
        return cls(connection, publisher, db)

    async def close(self) -> None:
        await self._db.close()
        await self._connection.close()

    async def run(self, chosen: set[str] | None, *, dry_run: bool) -> list[Result]:
        """Replay the messages whose notification id is in ``chosen`` (None: all); with ``dry_run`` only list
        them. Every message not removed is returned to the DLQ before this returns."""
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(FAILED_QUEUE, passive=True)
            depth = queue.declaration_result.message_count or 0
            results: list[Result] = []
            held: list[AbstractIncomingMessage] = []
            try:
                for _ in range(depth):
                    message = await queue.get(no_ack=False, fail=False)
                    if message is None:
                        break
                    letter = read_dead_letter(message.body, message.headers, message.message_id)
                    if chosen is not None and letter.notification_id not in chosen:
                        held.append(message)
                        continue
                    result = Result(letter, Action.LISTED) if dry_run else await self._replay(letter)
                    results.append(result)
                    if result.action in (Action.REPLAYED, Action.REMOVED):
                        await message.ack()
                    else:
                        held.append(message)
            finally:
                for message in held:
                    await message.nack(requeue=True)
            return results
        finally:
            await close_after_acks(channel)

    async def _replay(self, letter: DeadLetter) -> Result:
        envelope = letter.envelope
        if envelope is None or letter.routing_key is None:
            return Result(letter, Action.KEPT, f"not an envelope: {letter.problem}")
        detail = orjson.dumps(
            {
                "replayed": True,
                "from": FAILED_QUEUE,
                "previous_reason": letter.reason,
                "previous_attempts": letter.attempts,
            }
        ).decode()
        notification_id = uuid.UUID(envelope.notification_id)
        row = await self._db.fetchrow(RESET_SQL, notification_id, detail)
        assert row is not None
        if row["status"] is None:
            return Result(letter, Action.KEPT, "no status row: a worker would drop it")
        if row["status"] == "delivered":
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
            await self._publisher.publish(self._publisher.topology.direct, message, letter.routing_key)
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
            undo = orjson.dumps({"replay_failed": problem}).decode()
            await self._db.execute(UNDO_SQL, notification_id, letter.reason, letter.attempts or 0, undo)
            return Result(letter, Action.KEPT, f"the publish failed, the row is failed again: {problem}")
        await self._db.execute(STAMP_SQL, notification_id)
        return Result(letter, Action.REPLAYED)


async def replay(settings: ReplaySettings, chosen: set[str] | None, *, dry_run: bool) -> list[Result]:
    """Open, run one walk of the DLQ, close."""
    replayer = await DlqReplay.open(settings)
    try:
        return await replayer.run(chosen, dry_run=dry_run)
    finally:
        await replayer.close()


def _notification_id(value: str) -> str:
    parsed = parse_uuid(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a notification id (a UUID)")
    return str(parsed)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.replay",
        description="Move messages of failed.queue back to their work queue, resetting their attempts.",
    )
    parser.add_argument("--id", dest="ids", action="append", type=_notification_id, metavar="NOTIFICATION_ID")
    parser.add_argument("--all", action="store_true", help="every message in the DLQ")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the chosen messages (default: all), change nothing"
    )
    args = parser.parse_args(argv)
    if args.all and args.ids:
        parser.error("choose either --all or --id")
    if not (args.all or args.ids or args.dry_run):
        parser.error("choose the messages: --id NOTIFICATION_ID (repeatable) or --all; --dry-run only lists")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """The command; returns the exit code (1 when a chosen id was not in the DLQ)."""
    args = _arguments(argv)
    try:
        settings = load_settings(ReplaySettings)
    except SettingsError as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    chosen = set(args.ids) if args.ids else None
    results = asyncio.run(replay(settings, chosen, dry_run=args.dry_run))
    for result in results:
        print(result.line())
    counts = {action: sum(result.action is action for result in results) for action in Action}
    if args.dry_run:
        print(f"{FAILED_QUEUE}: {counts[Action.LISTED]} message(s) listed, nothing changed")
    else:
        print(
            f"replayed {counts[Action.REPLAYED]}, removed {counts[Action.REMOVED]} (already delivered), "
            f"kept {counts[Action.KEPT]} in {FAILED_QUEUE}"
        )
    missing = sorted((chosen or set()) - {result.letter.notification_id for result in results})
    if missing:
        print(f"not in {FAILED_QUEUE}: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
