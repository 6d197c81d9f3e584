"""The ``dead_letters`` table (docs/design.md §7 "The console"): what ``failed.queue`` held, one row per
dead-lettering, read and written by the gateway's ``/v1/dead-letters`` and ``python -m delivery.replay``.

Every read takes the application it is confined to; ``None`` means every application (the operator's key
without ``X-Application-Id``, and the command), and only then are poison rows (no application) seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from common.channels import Channel
from common.dead_letters import DeadLetter
from common.ids import new_notification_id, parse_uuid

KNOWN_CHANNELS = frozenset(Channel)
"""A routing key that names no channel (a message someone else put in the queue) is kept as no channel."""

_COLUMNS = (
    "id, application_id, notification_id, channel, reason, detail, attempts, failed_at, body, headers, message_id"
)

_INSERT = """
INSERT INTO dead_letters
    (id, message_key, application_id, notification_id, channel, reason, detail, attempts, failed_at, body, headers,
     message_id)
VALUES (
    $1, $2, COALESCE((SELECT application_id FROM notification_statuses WHERE id = $4), $3), $4, $5, $6, $7, $8,
    COALESCE($9, now()), $10, $11::text::jsonb, $12
)
ON CONFLICT (message_key) DO NOTHING
"""
"""A notification's row names its application (authoritative); the envelope's is the fallback."""

_MATCHING = """($1::uuid IS NULL OR application_id = $1)
  AND ($2::text IS NULL OR channel = $2) AND ($3::text IS NULL OR reason = $3)
  AND ($4::timestamptz IS NULL OR failed_at >= $4) AND ($5::timestamptz IS NULL OR failed_at < $5)"""

_PAGE = f"""
SELECT {_COLUMNS} FROM dead_letters
WHERE {_MATCHING} AND ($6::uuid IS NULL OR id < $6)
ORDER BY id DESC LIMIT $7
"""  # noqa: S608 - constant columns
_OLDEST = f"SELECT {_COLUMNS} FROM dead_letters WHERE {_MATCHING} ORDER BY id LIMIT $6"  # noqa: S608 - constants
_GET = f"SELECT {_COLUMNS} FROM dead_letters WHERE id = $2 AND ($1::uuid IS NULL OR application_id = $1)"  # noqa: S608
_BY_NOTIFICATION = f"SELECT {_COLUMNS} FROM dead_letters WHERE notification_id = ANY($1::uuid[]) ORDER BY id"  # noqa: S608
_DELETE = "DELETE FROM dead_letters WHERE id = $2 AND ($1::uuid IS NULL OR application_id = $1)"
_COUNT = "SELECT count(*) FROM dead_letters WHERE ($1::uuid IS NULL OR application_id = $1)"


@dataclass(frozen=True, slots=True)
class DeadLetterFilters:
    """What a listing or a replay by filter narrows to; None matches anything."""

    channel: str | None = None
    reason: str | None = None
    failed_after: datetime | None = None
    """Inclusive."""
    failed_before: datetime | None = None
    """Exclusive."""

    def arguments(self, application_id: uuid.UUID | None) -> tuple[Any, ...]:
        return (application_id, self.channel, self.reason, self.failed_after, self.failed_before)


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    """A row of ``dead_letters``."""

    id: uuid.UUID
    application_id: uuid.UUID | None
    notification_id: uuid.UUID | None
    channel: str | None
    reason: str
    detail: str
    attempts: int
    failed_at: datetime
    body: bytes
    headers: dict[str, Any]
    message_id: str | None


def _stored(row: Mapping[str, Any]) -> StoredDeadLetter:
    found = dict(row)
    headers = found["headers"]
    found["headers"] = orjson.loads(headers) if isinstance(headers, str | bytes) else headers
    return StoredDeadLetter(**found)


def _json_headers(headers: Mapping[str, Any] | None) -> str:
    """The message's headers as JSON (bytes as text, anything else JSON lacks as its text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode(errors="replace")
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return str(value)

    return orjson.dumps(plain(dict(headers or {}))).decode()


class DeadLetterStore:
    """Reads and writes ``dead_letters`` over an asyncpg pool or connection."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def insert(
        self, letter: DeadLetter, body: bytes, headers: Mapping[str, Any] | None, message_id: str | None
    ) -> bool:
        """Keep a message of ``failed.queue``; False when a copy of it was kept before (a redelivery)."""
        envelope = letter.envelope
        notification_id = parse_uuid(envelope.notification_id) if envelope is not None else None
        application_id = parse_uuid(envelope.application_id) if envelope is not None else None
        status = await self._db.execute(
            _INSERT,
            new_notification_id(),
            letter.key,
            application_id,
            notification_id,
            letter.routing_key if letter.routing_key in KNOWN_CHANNELS else None,
            letter.reason,
            letter.detail,
            letter.attempts or 0,
            letter.failed_at,
            body,
            _json_headers(headers),
            message_id,
        )
        return bool(status != "INSERT 0 0")

    async def page(
        self, application_id: uuid.UUID | None, filters: DeadLetterFilters, before: uuid.UUID | None, limit: int
    ) -> list[StoredDeadLetter]:
        """Up to ``limit`` rows matching ``filters``, newest first, older than ``before``."""
        rows = await self._db.fetch(_PAGE, *filters.arguments(application_id), before, limit)
        return [_stored(row) for row in rows]

    async def oldest(
        self, application_id: uuid.UUID | None, filters: DeadLetterFilters, limit: int
    ) -> list[StoredDeadLetter]:
        """Up to ``limit`` rows matching ``filters``, oldest first: the order a replay by filter takes."""
        rows = await self._db.fetch(_OLDEST, *filters.arguments(application_id), limit)
        return [_stored(row) for row in rows]

    async def get(self, application_id: uuid.UUID | None, dead_letter_id: uuid.UUID) -> StoredDeadLetter | None:
        row = await self._db.fetchrow(_GET, application_id, dead_letter_id)
        return _stored(row) if row else None

    async def of_notifications(self, notification_ids: list[uuid.UUID]) -> list[StoredDeadLetter]:
        """Every row of these notifications, oldest first."""
        return [_stored(row) for row in await self._db.fetch(_BY_NOTIFICATION, notification_ids)]

    async def delete(self, application_id: uuid.UUID | None, dead_letter_id: uuid.UUID) -> bool:
        """Discard a row; False when there was none."""
        return bool(await self._db.execute(_DELETE, application_id, dead_letter_id) != "DELETE 0")

    async def count(self, application_id: uuid.UUID | None) -> int:
        """How many rows wait."""
        return int(await self._db.fetchval(_COUNT, application_id))
