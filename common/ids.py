"""Identifiers: notification ids are UUIDv7 (time-ordered, docs/design.md §1)."""

from __future__ import annotations

import uuid

import uuid6


def new_notification_id() -> uuid.UUID:
    """A new UUIDv7."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
