"""Webhook endpoints and their deliveries in the ``notifications`` database (tables:
``common.notification_tables``), over the gateway's asyncpg pool. Every statement names the caller's application,
so another application's endpoint or delivery is as unknown as one that never existed (docs/design.md §7)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.ids import new_notification_id

MAX_ENDPOINTS_PER_APPLICATION = 20
"""Endpoints one application may have (docs/api.md "Webhooks"): each event is posted to every subscribed one."""
ROTATION_OVERLAP = "24 hours"
"""How long a rotated-out secret keeps signing deliveries next to the new one."""

_ENDPOINT_COLUMNS = (
    "id, url, events, description, enabled, failing_since, disabled_reason, previous_secret_until, created_at,"
    " updated_at"
)
_DELIVERY_COLUMNS = "id, event_type, status, attempts, response_status, response_ms, next_attempt_at, created_at"
_ONE_DELIVERY_COLUMNS = f"{_DELIVERY_COLUMNS}, endpoint_id, event_at, updated_at, last_error, body"

_LOCK_APPLICATION = "SELECT 1 FROM applications WHERE id = $1 FOR UPDATE"
"""Serializes the endpoint creations of one application, so the cap holds under concurrent requests."""
_COUNT = "SELECT count(*) FROM webhook_endpoints WHERE application_id = $1"
_INSERT = (
    "INSERT INTO webhook_endpoints (id, application_id, url, events, description, secret)"  # noqa: S608 - constants
    f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_ENDPOINT_COLUMNS}"
)
_GET = f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE application_id = $1 AND id = $2"  # noqa: S608
_PAGE = (
    f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints"  # noqa: S608 - constant columns
    " WHERE application_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
)
_UPDATE = f"""
UPDATE webhook_endpoints SET
    url = CASE WHEN $3 THEN $4 ELSE url END,
    events = CASE WHEN $5 THEN $6 ELSE events END,
    description = CASE WHEN $7 THEN $8 ELSE description END,
    enabled = COALESCE($9, enabled),
    failing_since = CASE WHEN $9 THEN NULL ELSE failing_since END,
    disabled_reason = CASE WHEN $9 IS NOT NULL THEN NULL ELSE disabled_reason END,
    updated_at = now()
WHERE application_id = $1 AND id = $2
RETURNING {_ENDPOINT_COLUMNS}
"""  # noqa: S608 - constant columns
"""Enabling clears the failure streak and the reason the endpoint was disabled; disabling records no reason
(the client knows it)."""
_DELETE = "DELETE FROM webhook_endpoints WHERE application_id = $1 AND id = $2"
_ROTATE = f"""
UPDATE webhook_endpoints
SET previous_secret = secret, previous_secret_until = now() + interval '{ROTATION_OVERLAP}', secret = $3,
    updated_at = now()
WHERE application_id = $1 AND id = $2
RETURNING previous_secret_until
"""  # noqa: S608 - constants only
_INSERT_DELIVERY = f"""
INSERT INTO webhook_deliveries (id, endpoint_id, application_id, event_type, body, next_attempt_at, event_at)
SELECT $3, id, application_id, $4, $5, $6, $6 FROM webhook_endpoints WHERE application_id = $1 AND id = $2
RETURNING {_DELIVERY_COLUMNS}
"""  # noqa: S608 - constant columns
"""A delivery due at once; nothing when the endpoint is not the application's."""
_DELIVERY_PAGE = (
    f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries"  # noqa: S608 - constant columns
    " WHERE application_id = $1 AND endpoint_id = $2 AND ($3::text IS NULL OR status = $3)"
    " AND ($4::timestamptz IS NULL OR created_at > $4) AND ($5::uuid IS NULL OR id < $5)"
    " ORDER BY id DESC LIMIT $6"
)
_DELIVERY = (
    f"SELECT {_ONE_DELIVERY_COLUMNS} FROM webhook_deliveries"  # noqa: S608 - constant columns
    " WHERE application_id = $1 AND endpoint_id = $2 AND id = $3"
)
_RETRY = f"""
UPDATE webhook_deliveries
SET status = CASE WHEN status IN ('succeeded', 'failed') THEN 'pending' ELSE status END,
    next_attempt_at = LEAST(COALESCE(next_attempt_at, now()), now()),
    updated_at = now()
WHERE application_id = $1 AND endpoint_id = $2 AND id = $3
RETURNING {_DELIVERY_COLUMNS}
"""  # noqa: S608 - constant columns
"""A final delivery goes back to ``pending``; one still on the ladder (or in flight) becomes due now."""
_REPLAY = """
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE application_id = $1 AND endpoint_id = $2 AND status IN ('succeeded', 'failed') AND event_at >= $3
"""
"""Final deliveries of events since a time back to ``pending``, with their ids (the same ``webhook-id``) and a full
retry ladder."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A webhook endpoint as the API shows it: never its secrets."""

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    failing_since: datetime | None
    disabled_reason: str | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EndpointChange:
    """The fields a PATCH gives; ``None`` for ``url``/``events`` and a missing flag for ``description`` leave a
    field as it is, ``enabled=None`` too."""

    url: str | None = None
    events: list[str] | None = None
    description_given: bool = False
    description: str | None = None
    enabled: bool | None = None


class EndpointLimitReached(Exception):
    """The application has :data:`MAX_ENDPOINTS_PER_APPLICATION` endpoints already."""


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(**{**dict(row), "events": list(row["events"])})


class WebhookStore:
    """Reads and writes ``webhook_endpoints`` and ``webhook_deliveries``."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(
        self, application_id: uuid.UUID, url: str, events: Sequence[str], description: str | None, secret: str
    ) -> Endpoint:
        """A new endpoint; raises :class:`EndpointLimitReached` when the application has its maximum."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(_LOCK_APPLICATION, application_id)
            if await connection.fetchval(_COUNT, application_id) >= MAX_ENDPOINTS_PER_APPLICATION:
                raise EndpointLimitReached()
            row = await connection.fetchrow(
                _INSERT, new_notification_id(), application_id, url, list(events), description, secret
            )
        return _endpoint(row)

    async def get(self, application_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint | None:
        row = await self._pool.fetchrow(_GET, application_id, endpoint_id)
        return _endpoint(row) if row else None

    async def page(self, application_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Endpoint]:
        """Up to ``limit`` endpoints in creation order, after ``after``."""
        return [_endpoint(row) for row in await self._pool.fetch(_PAGE, application_id, after, limit)]

    async def update(
        self, application_id: uuid.UUID, endpoint_id: uuid.UUID, change: EndpointChange
    ) -> Endpoint | None:
        """The endpoint with ``change`` applied; None when the application has no such endpoint."""
        row = await self._pool.fetchrow(
            _UPDATE,
            application_id,
            endpoint_id,
            change.url is not None,
            change.url,
            change.events is not None,
            change.events,
            change.description_given,
            change.description,
            change.enabled,
        )
        return _endpoint(row) if row else None

    async def delete(self, application_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
        """Delete the endpoint and its deliveries; False when the application has no such endpoint."""
        return str(await self._pool.execute(_DELETE, application_id, endpoint_id)) != "DELETE 0"

    async def rotate_secret(self, application_id: uuid.UUID, endpoint_id: uuid.UUID, secret: str) -> datetime | None:
        """Make ``secret`` the endpoint's, the current one signing too until the returned time; None when the
        application has no such endpoint."""
        found: datetime | None = await self._pool.fetchval(_ROTATE, application_id, endpoint_id, secret)
        return found

    async def add_delivery(
        self, application_id: uuid.UUID, endpoint_id: uuid.UUID, event_type: str, body: bytes, at: datetime
    ) -> dict[str, Any] | None:
        """A delivery of ``body`` to the endpoint, due at ``at`` (also the event's time); None when the application
        has no such endpoint."""
        row = await self._pool.fetchrow(
            _INSERT_DELIVERY, application_id, endpoint_id, new_notification_id(), event_type, body, at
        )
        return dict(row) if row else None

    async def deliveries(
        self,
        application_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        status: str | None,
        created_after: datetime | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` deliveries of the endpoint, newest first (ids are time-ordered), before ``before``."""
        rows = await self._pool.fetch(_DELIVERY_PAGE, application_id, endpoint_id, status, created_after, before, limit)
        return [dict(row) for row in rows]

    async def delivery(
        self, application_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> dict[str, Any] | None:
        """One delivery with its body and last error, or None."""
        row = await self._pool.fetchrow(_DELIVERY, application_id, endpoint_id, delivery_id)
        return dict(row) if row else None

    async def retry(
        self, application_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> dict[str, Any] | None:
        """Make the delivery due now (a final one ``pending`` again); None when there is no such delivery."""
        row = await self._pool.fetchrow(_RETRY, application_id, endpoint_id, delivery_id)
        return dict(row) if row else None

    async def replay(self, application_id: uuid.UUID, endpoint_id: uuid.UUID, since: datetime) -> int:
        """Put the endpoint's final deliveries of events at or after ``since`` back to ``pending``; how many."""
        status = str(await self._pool.execute(_REPLAY, application_id, endpoint_id, since))
        return int(status.rsplit(" ", 1)[-1])
