"""The background purge of a disabled application (docs/design.md §7 Applications): a claimable job that every
gateway replica runs. The application's row is the lock (``FOR UPDATE SKIP LOCKED`` on a disabled, unpurged
application), held while its notifications are deleted in batches and user_svc and template_svc delete its
users and templates; ``purged_at`` marks the end. A pass that fails leaves it for the next pass, which starts
over harmlessly: every step deletes only what is left."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from common.periodic import run_every
from gateway.backends import Backends
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

_CLAIM = (
    "SELECT id FROM applications WHERE disabled_at IS NOT NULL AND purged_at IS NULL AND id <> ALL($1::uuid[])"
    " ORDER BY disabled_at LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_DELETE_NOTIFICATIONS = """
WITH doomed AS (
    SELECT id FROM notification_statuses WHERE application_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED
)
DELETE FROM notification_statuses AS s USING doomed WHERE s.id = doomed.id
"""
"""One batch of the application's notifications; their history goes with them (ON DELETE CASCADE)."""


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class ApplicationPurger:
    """Purges disabled applications, one at a time per replica."""

    def __init__(self, pool: Any, backends: Backends, *, interval_seconds: float, batch_size: int) -> None:
        self._pool = pool
        self._backends = backends
        self._interval = interval_seconds
        self._batch = batch_size

    async def run_once(self) -> int:
        """Purge every disabled application no other replica is purging; answers how many were finished. One
        that fails (a service down) is logged and left for the next pass, without holding up the others."""
        tried: list[uuid.UUID] = []
        finished = 0
        while True:
            async with self._pool.acquire() as connection, connection.transaction():
                application_id = await connection.fetchval(_CLAIM, tried)
                if application_id is None:
                    return finished
                tried.append(application_id)
                try:
                    await self._purge(application_id)
                except Exception:
                    logger.warning("purge of the disabled application %s failed", application_id, exc_info=True)
                    continue
                await connection.execute("UPDATE applications SET purged_at = now() WHERE id = $1", application_id)
            logger.info("purged the data of the disabled application %s", application_id)
            finished += 1

    async def _purge(self, application_id: uuid.UUID) -> None:
        """Delete the application's notifications, suppressions, sending domains (with their keys), users and
        templates, batch by batch."""
        while _count(await self._pool.execute(_DELETE_NOTIFICATIONS, application_id, self._batch)) >= self._batch:
            pass
        await self._pool.execute("DELETE FROM email_suppressions WHERE application_id = $1", application_id)
        await self._pool.execute("DELETE FROM sending_domains WHERE application_id = $1", application_id)
        timeout = self._backends.timeout
        users = pb.PurgeApplicationUsersRequest(application_id=str(application_id), limit=self._batch)
        while (await self._backends.users.PurgeApplicationUsers(users, timeout=timeout)).deleted > 0:
            pass
        templates = pb.PurgeApplicationTemplatesRequest(application_id=str(application_id), limit=self._batch)
        while (await self._backends.templates.PurgeApplicationTemplates(templates, timeout=timeout)).deleted > 0:
            pass

    async def run(self) -> None:
        """A pass every interval until cancelled."""
        await run_every(self._interval, self.run_once, "purge of disabled applications")
