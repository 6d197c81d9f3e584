"""What the gateway knows about an application and a key: the rows as the routes show them, and the smaller
views authentication caches (docs/design.md §7 Applications)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gateway.scopes import Scope


class KeyMode(StrEnum):
    """A ``live`` key's sends reach providers; a ``test`` key's are recorded as delivered and never sent."""

    LIVE = "live"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Application:
    """An application's row as ``/v1/applications`` shows it."""

    id: uuid.UUID
    name: str
    rate_limit_per_minute: int | None
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApplicationState:
    """What a request needs of its application: whether it may act at all, and its send limit."""

    id: uuid.UUID
    rate_limit_per_minute: int | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What an issued key lets its holder do, and the hash its secret must match."""

    key_id: str
    application_id: uuid.UUID
    secret_hash: bytes
    scopes: frozenset[Scope]
    mode: KeyMode
    revoked: bool


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's row as ``GET /v1/applications/{id}/keys`` lists it: never its secret."""

    id: str
    name: str
    prefix: str
    scopes: tuple[Scope, ...]
    mode: KeyMode
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
