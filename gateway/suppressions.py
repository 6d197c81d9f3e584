"""An application's email suppressions (docs/api.md "Suppressions"): the addresses it no longer emails, why,
and since when. Hard bounces and complaints are written by the workers and the inbound service; an operator
adds (`manual`) and removes them here. Every statement names the caller's application."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from common.page_tokens import PageTokens

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = "address, reason, notification_id, created_at"
_PAGE = f"""
SELECT {_COLUMNS} FROM email_suppressions
WHERE application_id = $1 AND ($2::text IS NULL OR reason = $2)
  AND ($3::timestamptz IS NULL OR (created_at, address) < ($3, $4))
ORDER BY created_at DESC, address DESC
LIMIT $5
"""  # noqa: S608 - constant columns
_ADD = f"""
WITH added AS (
    INSERT INTO email_suppressions (application_id, address, reason) VALUES ($1, $2, $3)
    ON CONFLICT (application_id, address) DO NOTHING
    RETURNING {_COLUMNS}, true AS created
)
SELECT * FROM added
UNION ALL
SELECT {_COLUMNS}, false FROM email_suppressions WHERE application_id = $1 AND address = $2
LIMIT 1
"""  # noqa: S608 - constant columns
_REMOVE = "DELETE FROM email_suppressions WHERE application_id = $1 AND address = $2"


@dataclass(frozen=True, slots=True)
class Suppression:
    """An address the application does not email, and why."""

    address: str
    reason: str
    notification_id: uuid.UUID | None
    created_at: datetime


PageKey = tuple[datetime, str]
"""Where a page resumes: the (created_at, address) of the last suppression of the page before."""


def _pack(key: PageKey) -> bytes:
    created_at, address = key
    microseconds = (created_at - _EPOCH) // timedelta(microseconds=1)
    return struct.pack(">q", microseconds) + address.encode()


def _unpack(raw: bytes) -> PageKey:
    if len(raw) < 9:
        raise ValueError("too short")
    (microseconds,) = struct.unpack(">q", raw[:8])
    try:
        return _EPOCH + timedelta(microseconds=microseconds), raw[8:].decode()
    except OverflowError:  # a forged token's time that no datetime holds
        raise ValueError("time out of range") from None


PAGE_TOKENS = PageTokens[PageKey](pack=_pack, unpack=_unpack)


def normalized(address: str) -> str:
    """The form suppressions are kept in: addresses are compared without case, as the workers write them."""
    return address.strip().lower()


class SuppressionStore:
    """Reads and writes ``email_suppressions`` over the gateway's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self, application_id: uuid.UUID, reason: str | None, after: PageKey | None, limit: int
    ) -> list[Suppression]:
        """Up to ``limit`` suppressions, newest first, after ``after``; only ``reason``'s when given."""
        since, address = after if after else (None, None)
        rows = await self._pool.fetch(_PAGE, application_id, reason, since, address, limit)
        return [Suppression(**row) for row in rows]

    async def add(self, application_id: uuid.UUID, address: str, reason: str) -> tuple[Suppression, bool]:
        """Suppress ``address``; an address already suppressed keeps its row and reason. True when added."""
        row = await self._pool.fetchrow(_ADD, application_id, normalized(address), reason)
        assert row is not None
        found = dict(row)
        created = found.pop("created")
        return Suppression(**found), created

    async def remove(self, application_id: uuid.UUID, address: str) -> bool:
        """Email ``address`` again; False when it was not suppressed."""
        status = await self._pool.execute(_REMOVE, application_id, normalized(address))
        return status != "DELETE 0"
