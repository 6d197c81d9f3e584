"""Which database answers a read by notification id (docs/design.md §7 "Beyond one machine, for real"): the
read replica (``NOTIFICATIONS_READ_DATABASE_URL``) once the id's time is more than :data:`REPLICA_AGE_SECONDS`
old, the primary otherwise, so a client reading back what it just sent reads its own write. A replica that
lags further, answers nothing (the 404 is asked of the primary again) or cannot be reached costs a second read
on the primary, never a wrong 404 or a 500."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

logger = logging.getLogger(__name__)

T = TypeVar("T")

REPLICA_AGE_SECONDS = 10.0
"""How old an id's time must be for its read to go to the replica: far beyond a healthy replica's lag."""

REPLICA_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def id_age_seconds(notification_id: uuid.UUID, now: float | None = None) -> float | None:
    """How long ago the UUIDv7 ``notification_id`` was made; None when it is not a UUIDv7."""
    if notification_id.version != 7:
        return None
    return (now if now is not None else time.time()) - (notification_id.int >> 80) / 1000


def reads_from_replica(notification_id: uuid.UUID, now: float | None = None) -> bool:
    """Whether a read of ``notification_id`` may be answered by the replica."""
    age = id_age_seconds(notification_id, now)
    return age is not None and age > REPLICA_AGE_SECONDS


async def read_by_id(
    primary: Any, replica: Any, notification_id: uuid.UUID, read: Callable[[Any], Awaitable[T | None]]
) -> T | None:
    """``read(pool)`` on the replica when ``notification_id`` is old enough and a replica is configured, on the
    primary otherwise, and on the primary again when the replica found nothing or failed."""
    if replica is not None and reads_from_replica(notification_id):
        try:
            found = await read(replica)
        except REPLICA_ERRORS:
            logger.warning("the read replica failed; reading %s from the primary", notification_id, exc_info=True)
        else:
            if found is not None:
                return found
    return await read(primary)
