"""What follows every committed write to a user: the cached profile is invalidated (so the very next send
sees the change) and a ``UserChanged`` event goes to ``notifications.events`` for caches elsewhere. A purge of
an application's users drops their cached profiles but publishes no event per user: the gateway drops what it
cached of the application as a whole."""

from __future__ import annotations

import asyncio
import uuid

from google.protobuf.timestamp_pb2 import Timestamp

from common.amqp.events import publish_change
from common.amqp.publisher import Publisher
from notification.v1 import notification_pb2 as pb
from user_svc.profile_cache import ProfileCache


class UserChanges:
    """Announces changes to users."""

    def __init__(self, cache: ProfileCache, publisher: Publisher) -> None:
        self._cache = cache
        self._publisher = publisher

    async def changed(self, application_id: uuid.UUID, user_id: uuid.UUID, kind: pb.ChangeKind) -> None:
        """Invalidate the user's cached profile and publish the event, concurrently; neither raises."""
        changed_at = Timestamp()
        changed_at.GetCurrentTime()
        event = pb.UserChanged(
            user_id=str(user_id), kind=kind, changed_at=changed_at, application_id=str(application_id)
        )
        await asyncio.gather(self._cache.invalidate(application_id, user_id), publish_change(self._publisher, event))

    async def purged(self, application_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
        """Invalidate the cached profiles of users deleted by a purge; no event. Never raises."""
        await self._cache.invalidate(application_id, *user_ids)
