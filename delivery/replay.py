"""``python -m delivery.replay``: after a fix, send dead letters again, for email and push alike.

    python -m delivery.replay --dry-run              list the dead letters (or only --id ...), change nothing
    python -m delivery.replay --id <id> [--id ...]   a dead letter's id or its notification's id
    python -m delivery.replay --all

It first moves whatever ``failed.queue`` holds into the ``dead_letters`` table (as the gateway does all the
time), then replays rows of the table with the same code as ``POST /v1/dead-letters/{id}/replay``
(``common.dead_letter_replay``: what is replayed, kept or removed, and in which order the row and the broker
change). Every application's dead letters are in reach.

Reads ``RABBITMQ_URL`` (or ``RABBITMQ_URLS``), ``RABBITMQ_QUEUE_TYPE`` and ``NOTIFICATIONS_DATABASE_URL`` (then
``DATABASE_URL``), like the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence

import asyncpg

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from common.db import plain_url
from common.dead_letter_mover import DeadLetterMover
from common.dead_letter_replay import Action, DeadLetterReplayer, Result
from common.dead_letter_store import DeadLetterFilters, DeadLetterStore, StoredDeadLetter
from common.ids import parse_uuid
from common.settings import DatabaseServiceSettings, SettingsError, database_url_field, load_settings

PAGE = 500


class ReplaySettings(DatabaseServiceSettings):
    """What the replay command reads: the broker, its queue type and the notifications database."""

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")


async def _chosen(store: DeadLetterStore, ids: set[uuid.UUID] | None) -> list[StoredDeadLetter]:
    """The rows named by ``ids`` (their own or their notification's), or every row; oldest first."""
    if ids is None:
        found: list[StoredDeadLetter] = []
        while page := await store.page(None, DeadLetterFilters(), found[-1].id if found else None, PAGE):
            found.extend(page)
        return sorted(found, key=lambda letter: letter.id)
    named = [letter for letter in [await store.get(None, each) for each in ids] if letter is not None]
    unique = {letter.id: letter for letter in [*named, *await store.of_notifications(list(ids))]}
    return [unique[key] for key in sorted(unique)]


async def replay(settings: ReplaySettings, chosen: set[uuid.UUID] | None, *, dry_run: bool) -> list[Result]:
    """Drain ``failed.queue`` into the table, then replay (or with ``dry_run`` list) the chosen rows."""
    connection = await connect(settings.rabbitmq_nodes, name="dlq-replay")
    try:
        publisher = await Publisher.create(connection, settings.rabbitmq_queue_type)
        db = await asyncpg.connect(plain_url(settings.database_url))
        try:
            store = DeadLetterStore(db)
            await DeadLetterMover(connection, store).drain()
            letters = await _chosen(store, chosen)
            if dry_run:
                return [Result(letter, Action.LISTED) for letter in letters]
            replayer = DeadLetterReplayer(db, publisher)
            return [await replayer.replay(letter) for letter in letters]
        finally:
            await db.close()
    finally:
        await connection.close()


def _id(value: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a dead letter's or notification's id (a UUID)")
    return parsed


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.replay",
        description="Send dead letters again through their work queue, resetting their attempts.",
    )
    parser.add_argument("--id", dest="ids", action="append", type=_id, metavar="ID")
    parser.add_argument("--all", action="store_true", help="every dead letter")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the chosen messages (default: all), change nothing"
    )
    args = parser.parse_args(argv)
    if args.all and args.ids:
        parser.error("choose either --all or --id")
    if not (args.all or args.ids or args.dry_run):
        parser.error("choose the dead letters: --id ID (repeatable) or --all; --dry-run only lists")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """The command; returns the exit code (1 when a chosen id names no dead letter)."""
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
        print(f"dead_letters: {counts[Action.LISTED]} listed, nothing changed")
    else:
        print(
            f"replayed {counts[Action.REPLAYED]}, removed {counts[Action.REMOVED]} (already delivered), "
            f"kept {counts[Action.KEPT]} in dead_letters"
        )
    found = {result.letter.id for result in results} | {result.letter.notification_id for result in results}
    missing = sorted(str(each) for each in (chosen or set()) - found)
    if missing:
        print(f"no dead letter: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
