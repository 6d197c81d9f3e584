"""Identifiers: notification ids are UUIDv7 (time-ordered, docs/design.md §1)."""

from __future__ import annotations

import uuid
from datetime import datetime

import uuid6


def new_notification_id() -> uuid.UUID:
    """A new UUIDv7."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def first_id_at(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of ``moment``'s millisecond: every id made earlier sorts before it. A moment
    before 1970 gives the smallest UUIDv7 of all, since no id is older."""
    milliseconds = max(0, int(moment.timestamp() * 1000))
    return uuid.UUID(int=(milliseconds << 80) | (0x7 << 76) | (0b10 << 62))


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
