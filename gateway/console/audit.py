"""The console's audit log: every write it makes, who made it, when, and how it ended.

It is a capped Redis stream rather than a table: the console never touches a database (it is an API client
like any other), a stream is append-only and time-ordered by construction, and Redis is already what keeps the
console's sessions. The last :data:`MAX_ENTRIES` writes are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from common.redis_client import RedisClient

STREAM = "console:audit"
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    who: str
    application_id: str
    action: str
    target: str
    outcome: str


class AuditLog:
    """Appends and lists the console's writes."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def record(self, *, who: str, application_id: str, action: str, target: str, outcome: str) -> None:
        """Append one write: ``action`` (e.g. ``POST /v1/notifications/{id}/cancel``) on ``target``, ending in
        ``outcome`` (the API's status code and a word)."""
        fields = {"who": who, "app": application_id, "action": action, "target": target, "outcome": outcome}
        await self._redis.xadd(STREAM, fields, maxlen=MAX_ENTRIES, approximate=True)  # type: ignore[arg-type]

    async def recent(self, count: int = 200, before: str | None = None) -> tuple[list[AuditEntry], str | None]:
        """The newest ``count`` entries (older than the stream id ``before``), and the id to page on."""
        end = f"({before}" if before else "+"
        rows: list[tuple[bytes, dict[bytes, bytes]]] = await self._redis.xrevrange(  # type: ignore[assignment]
            STREAM, max=end, min="-", count=count
        )
        entries = []
        for entry_id, fields in rows:
            text = {k.decode(): v.decode() for k, v in fields.items()}
            millis = int(entry_id.decode().split("-", 1)[0])
            entries.append(
                AuditEntry(
                    at=datetime.fromtimestamp(millis / 1000, UTC),
                    who=text.get("who", ""),
                    application_id=text.get("app", ""),
                    action=text.get("action", ""),
                    target=text.get("target", ""),
                    outcome=text.get("outcome", ""),
                )
            )
        cursor = rows[-1][0].decode() if len(rows) == count else None
        return entries, cursor
