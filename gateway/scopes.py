"""What an API key may do: its scopes (CONTRACT "Applications, keys and scopes"), each route declaring the one
it needs."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """A permission an application's key holds. Applications and keys themselves need the operator's key."""

    NOTIFICATIONS_SEND = "notifications:send"
    NOTIFICATIONS_READ = "notifications:read"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    TEMPLATES_READ = "templates:read"
    TEMPLATES_WRITE = "templates:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    TOPICS_MANAGE = "topics:manage"
    SUPPRESSIONS_MANAGE = "suppressions:manage"
    DEAD_LETTERS_MANAGE = "dead_letters:manage"


ALL_SCOPES = frozenset(Scope)
"""The scopes of the keys of ``GATEWAY_API_KEYS`` and of the operator's key."""
