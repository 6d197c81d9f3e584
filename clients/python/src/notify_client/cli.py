"""``notify``: the operator's command line over the REST API. Credentials come from ``--base-url`` and
``--api-key`` or the environment (``NOTIFY_BASE_URL``, ``NOTIFY_API_KEY``); answers print as JSON (the default)
or as a table (``--output table``). A problem answer prints its JSON on stderr and exits 1."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from pydantic import BaseModel

from notify_client.client import API_KEY_ENV, BASE_URL_ENV, Client
from notify_client.errors import ConnectionFailed, ProblemError

FINAL_STATUSES = frozenset({"delivered", "failed", "skipped", "cancelled", "bounced"})
COLUMNS = {
    "send": ["notification_id", "status", "reason", "replayed"],
    "status": ["notification_id", "channel", "template", "status", "reason", "attempts", "last_error", "updated_at"],
    "events": ["at", "status", "attempt", "detail"],
    "dlq list": ["id", "notification_id", "channel", "reason", "attempts", "failed_at"],
    "dlq replay": ["id", "replayed"],
    "keys create": ["id", "name", "key", "scopes", "mode"],
    "keys revoke": ["application_id", "key_id", "revoked"],
}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as aligned text columns, a header first."""
    cells = [list(columns)] + [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def emit(result: Any, command: str, output: str) -> None:
    """Print ``result`` as the chosen output."""
    plain = _plain(result)
    if output == "json":
        print(json.dumps(plain, indent=2, ensure_ascii=False))
        return
    rows = plain if isinstance(plain, list) else [plain]
    print(render_table(rows, COLUMNS[command]))


def _variables(pairs: Iterable[str], as_json: str | None) -> dict[str, Any]:
    variables: dict[str, Any] = json.loads(as_json) if as_json else {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"notify: --var wants NAME=VALUE, got {pair!r}")
        variables[name] = value
    return variables


def cmd_send(client: Client, args: argparse.Namespace) -> Any:
    """Send one notification; with ``--wait`` follow it until it is final (each status on stderr)."""
    accepted = client.notifications.send(
        args.user,
        args.channel,
        args.template,
        variables=_variables(args.var, args.vars_json),
        locale=args.locale,
        priority=args.priority,
        idempotency_key=args.idempotency_key,
    )
    if args.wait is None or accepted.status in FINAL_STATUSES:
        return accepted
    return _follow(client, accepted.notification_id, args.wait)


def _follow(client: Client, notification_id: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        found = client.notifications.get(notification_id)
        if found.status != seen:
            print(f"{found.updated_at.isoformat()} {found.status}", file=sys.stderr)
            seen = found.status
        if found.status in FINAL_STATUSES or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def cmd_dlq_list(client: Client, args: argparse.Namespace) -> Any:
    letters = client.dead_letters.iterate(
        channel=args.channel,
        reason=args.reason,
        failed_after=args.failed_after,
        failed_before=args.failed_before,
        limit=min(args.limit, 100),
    )
    return list(islice(letters, args.limit))


def cmd_dlq_replay(client: Client, args: argparse.Namespace) -> Any:
    """One dead letter by id, or with ``--all`` every one the filters match."""
    if args.id:
        client.dead_letters.replay(args.id)
        return {"id": args.id, "replayed": 1}
    if not args.all:
        raise SystemExit("notify dlq replay: give a dead letter's ID, or --all (with filters)")
    replayed = client.dead_letters.replay_matching(
        channel=args.channel,
        reason=args.reason,
        failed_after=args.failed_after,
        failed_before=args.failed_before,
        limit=args.limit,
    )
    return {"id": None, "replayed": replayed.replayed}


def cmd_keys_revoke(client: Client, args: argparse.Namespace) -> Any:
    client.applications.revoke_key(args.application_id, args.key_id)
    return {"application_id": args.application_id, "key_id": args.key_id, "revoked": True}


COMMANDS: dict[str, Callable[[Client, argparse.Namespace], Any]] = {
    "send": cmd_send,
    "status": lambda client, args: client.notifications.get(args.id),
    "events": lambda client, args: client.notifications.events(args.id),
    "dlq list": cmd_dlq_list,
    "dlq replay": cmd_dlq_replay,
    "keys create": lambda client, args: client.applications.create_key(
        args.application_id, args.name, args.scope, mode=args.mode
    ),
    "keys revoke": cmd_keys_revoke,
}


def _dlq_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", choices=["email", "push"])
    parser.add_argument("--reason")
    parser.add_argument("--failed-after", metavar="RFC3339")
    parser.add_argument("--failed-before", metavar="RFC3339")


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="notify", description="The operator's command line over the Notify REST API (clients/python/README.md)."
    )
    top.add_argument("--base-url", help=f"the gateway (default ${BASE_URL_ENV}, else http://127.0.0.1:8080)")
    top.add_argument("--api-key", help=f"X-API-Key (default ${API_KEY_ENV})")
    top.add_argument("--application-id", help="with the operator's key: the application to act in")
    top.add_argument("--output", "-o", choices=["json", "table"], default="json")
    commands = top.add_subparsers(dest="command", required=True)

    send = commands.add_parser("send", help="send a notification")
    send.add_argument("--user", required=True, help="the recipient's user id")
    send.add_argument("--channel", required=True, choices=["email", "push"])
    send.add_argument("--template", required=True)
    send.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a template variable")
    send.add_argument("--vars-json", metavar="JSON", help="template variables as one JSON object")
    send.add_argument("--locale")
    send.add_argument("--priority", choices=["low", "normal", "high"])
    send.add_argument("--idempotency-key", help="default: a new UUID, reused by the send's retries")
    send.add_argument(
        "--wait", type=float, nargs="?", const=30.0, metavar="SECONDS", help="follow it until final (30 s)"
    )
    for name, text in (("status", "a notification's status"), ("events", "a notification's history")):
        commands.add_parser(name, help=text).add_argument("id")

    dlq = commands.add_parser("dlq", help="dead letters").add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq.add_parser("list", help="list dead letters, newest first")
    _dlq_filters(dlq_list)
    dlq_list.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    dlq_replay = dlq.add_parser("replay", help="replay one dead letter, or --all matching the filters")
    dlq_replay.add_argument("id", nargs="?")
    dlq_replay.add_argument("--all", action="store_true")
    _dlq_filters(dlq_replay)
    dlq_replay.add_argument("--limit", type=int)

    keys = commands.add_parser("keys", help="API keys (the operator's key)").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key: it is printed this once")
    create.add_argument("application_id")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, help="repeat for several scopes")
    create.add_argument("--mode", choices=["live", "test"])
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("application_id")
    revoke.add_argument("key_id")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 on a problem answer or an unreachable gateway."""
    args = parser().parse_args(argv)
    command = " ".join(
        part for part in (args.command, getattr(args, "dlq_command", None), getattr(args, "keys_command", None)) if part
    )
    try:
        with Client(args.base_url, api_key=args.api_key, application_id=args.application_id) as client:
            emit(COMMANDS[command](client, args), command, args.output)
    except ProblemError as error:
        print(json.dumps(error.problem, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    except ConnectionFailed as error:
        print(f"notify: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
