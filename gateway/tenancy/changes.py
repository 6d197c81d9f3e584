"""Telling every gateway replica that a key was revoked or an application changed: the replica that made the
change forgets it at once, the others when ``KeyRevoked``/``ApplicationChanged`` reaches them through
``notifications.events`` (docs/design.md §7 Applications), and within the cache's lifetime in any case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from common.amqp.events import publish_change
from common.amqp.publisher import Publisher
from gateway.tenancy.key_cache import CredentialCache
from notification.v1 import notification_pb2 as pb


class CredentialChanges:
    """Announces changes to keys and applications, this replica's cache first."""

    def __init__(self, publisher: Publisher, cache: CredentialCache) -> None:
        self._publisher = publisher
        self._cache = cache

    async def key_revoked(self, application_id: uuid.UUID, key_id: str) -> None:
        self._cache.forget_key(key_id)
        event = pb.KeyRevoked(application_id=str(application_id), key_id=key_id)
        event.changed_at.FromDatetime(datetime.now(UTC))
        await publish_change(self._publisher, event)

    async def application_changed(self, application_id: uuid.UUID, *, deleted: bool = False) -> None:
        self._cache.forget_application(application_id)
        kind = pb.CHANGE_KIND_DELETED if deleted else pb.CHANGE_KIND_UPDATED
        event = pb.ApplicationChanged(application_id=str(application_id), kind=kind)
        event.changed_at.FromDatetime(datetime.now(UTC))
        await publish_change(self._publisher, event)
