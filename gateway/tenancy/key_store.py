"""Applications and API keys in the ``notifications`` database, over the gateway's asyncpg pool
(docs/design.md §7 Applications)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from common.ids import new_notification_id
from gateway.scopes import Scope
from gateway.tenancy.keys import NewKey
from gateway.tenancy.records import ApiKey, Application, ApplicationState, KeyGrant, KeyMode

_APPLICATION_COLUMNS = "id, name, rate_limit_per_minute, created_at, updated_at, disabled_at"
_KEY_COLUMNS = "id, name, prefix, scopes, mode, created_at, last_used_at, revoked_at"
_INSERT_APPLICATION = (
    "INSERT INTO applications (id, name, rate_limit_per_minute)"  # noqa: S608 - constants only
    f" VALUES ($1, $2, $3) RETURNING {_APPLICATION_COLUMNS}"
)
_INSERT_KEY = (
    "INSERT INTO api_keys (id, application_id, name, prefix, secret_hash, scopes, mode)"  # noqa: S608 - constants only
    f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_KEY_COLUMNS}"
)
UNCHANGED: Any = object()
"""A field :meth:`ApplicationStore.update_application` leaves as it is."""


def _scopes(names: Collection[str]) -> list[Scope]:
    """The scopes a row names that this gateway knows, in their declared order."""
    known = set(names)
    return [scope for scope in Scope if scope in known]


def _application(row: Mapping[str, Any]) -> Application:
    return Application(**dict(row))


def _key(row: Mapping[str, Any]) -> ApiKey:
    return ApiKey(**{**dict(row), "scopes": tuple(_scopes(row["scopes"])), "mode": KeyMode(row["mode"])})


class ApplicationStore:
    """Reads and writes ``applications`` and ``api_keys``."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create_application(self, name: str, rate_limit_per_minute: int | None) -> Application:
        row = await self._pool.fetchrow(
            _INSERT_APPLICATION,
            new_notification_id(),
            name,
            rate_limit_per_minute,
        )
        return _application(row)

    async def application(self, application_id: uuid.UUID) -> Application | None:
        """The application, unless it does not exist or is disabled."""
        row = await self._pool.fetchrow(
            f"SELECT {_APPLICATION_COLUMNS} FROM applications WHERE id = $1 AND disabled_at IS NULL",  # noqa: S608
            application_id,
        )
        return _application(row) if row else None

    async def applications(self, after: uuid.UUID | None, limit: int) -> list[Application]:
        """Up to ``limit`` enabled applications in id (creation) order, after ``after``."""
        rows = await self._pool.fetch(
            f"SELECT {_APPLICATION_COLUMNS} FROM applications"  # noqa: S608
            " WHERE disabled_at IS NULL AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
            after,
            limit,
        )
        return [_application(row) for row in rows]

    async def update_application(
        self, application_id: uuid.UUID, *, name: str = UNCHANGED, rate_limit_per_minute: int | None = UNCHANGED
    ) -> Application | None:
        """The application with the fields given changed; None when it does not exist or is disabled."""
        row = await self._pool.fetchrow(
            f"UPDATE applications SET name = CASE WHEN $2 THEN $3 ELSE name END,"  # noqa: S608
            " rate_limit_per_minute = CASE WHEN $4 THEN $5 ELSE rate_limit_per_minute END, updated_at = now()"
            f" WHERE id = $1 AND disabled_at IS NULL RETURNING {_APPLICATION_COLUMNS}",
            application_id,
            name is not UNCHANGED,
            None if name is UNCHANGED else name,
            rate_limit_per_minute is not UNCHANGED,
            None if rate_limit_per_minute is UNCHANGED else rate_limit_per_minute,
        )
        return _application(row) if row else None

    async def disable_application(self, application_id: uuid.UUID) -> bool:
        """Disable the application at once; False when it does not exist or already is."""
        status = await self._pool.execute(
            "UPDATE applications SET disabled_at = now(), updated_at = now() WHERE id = $1 AND disabled_at IS NULL",
            application_id,
        )
        return bool(status.endswith(" 1"))

    async def application_state(self, application_id: uuid.UUID) -> ApplicationState | None:
        """What authentication needs of the application; None when it does not exist."""
        row = await self._pool.fetchrow(
            "SELECT rate_limit_per_minute, disabled_at IS NOT NULL AS disabled FROM applications WHERE id = $1",
            application_id,
        )
        return ApplicationState(application_id, row["rate_limit_per_minute"], row["disabled"]) if row else None

    async def create_key(
        self, application_id: uuid.UUID, name: str, scopes: Collection[Scope], mode: KeyMode, new_key: NewKey
    ) -> ApiKey:
        row = await self._pool.fetchrow(
            _INSERT_KEY,
            new_key.key_id,
            application_id,
            name,
            new_key.prefix,
            new_key.secret_hash,
            [str(scope) for scope in _scopes(scopes)],
            str(mode),
        )
        return _key(row)

    async def keys(self, application_id: uuid.UUID) -> list[ApiKey]:
        """Every key of the application, revoked ones included, oldest first."""
        rows = await self._pool.fetch(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE application_id = $1 ORDER BY created_at, id",  # noqa: S608
            application_id,
        )
        return [_key(row) for row in rows]

    async def revoke_key(self, application_id: uuid.UUID, key_id: str) -> bool:
        """Revoke the key; False when the application has no such key. Revoking twice changes nothing."""
        row = await self._pool.fetchrow(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
            " WHERE id = $1 AND application_id = $2 RETURNING id",
            key_id,
            application_id,
        )
        return row is not None

    async def grant(self, key_id: str) -> KeyGrant | None:
        """What the key ``key_id`` grants, revoked or not; None when there is no such key."""
        row = await self._pool.fetchrow(
            "SELECT application_id, secret_hash, scopes, mode, revoked_at IS NOT NULL AS revoked"
            " FROM api_keys WHERE id = $1",
            key_id,
        )
        if row is None:
            return None
        return KeyGrant(
            key_id=key_id,
            application_id=row["application_id"],
            secret_hash=bytes(row["secret_hash"]),
            scopes=frozenset(_scopes(row["scopes"])),
            mode=KeyMode(row["mode"]),
            revoked=row["revoked"],
        )

    async def record_use(self, used: Mapping[str, datetime]) -> None:
        """Set ``last_used_at`` of many keys in one statement, never moving it back."""
        await self._pool.execute(
            "UPDATE api_keys AS k SET last_used_at = u.at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)"
            " WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)",
            list(used),
            list(used.values()),
        )
