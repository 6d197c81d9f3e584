"""What follows every committed write to a user: the cached profile is invalidated (so the very next send
sees the change) and a ``UserChanged`` event goes to ``notifications.events`` for caches elsewhere."""

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

    async def changed(self, user_id: uuid.UUID, kind: pb.ChangeKind) -> None:
        """Invalidate the user's cached profile and publish the event, concurrently; neither raises."""
        changed_at = Timestamp()
        changed_at.GetCurrentTime()
        event = pb.UserChanged(user_id=str(user_id), kind=kind, changed_at=changed_at)
        await asyncio.gather(self._cache.invalidate(user_id), publish_change(self._publisher, event))
