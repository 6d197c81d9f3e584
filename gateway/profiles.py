"""Recipients' notification profiles, fetched from user_svc and kept for a few seconds.

Profiles are kept per (application, user): user_svc answers for the application asked about only. Every
write to a user publishes ``UserChanged`` on ``notifications.events``; the gateway evicts that user of that
application from its cache when it sees one (:mod:`gateway.events`; and when it proxies a write itself), so a profile is
stale for milliseconds at most, and for the cache's lifetime only while the broker is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc

ProfileKey = tuple[str, str]
"""(application id, user id)"""

logger = logging.getLogger(__name__)


REFRESH_WINDOW = (0.5, 0.9)
"""A profile still in use is fetched again in the background from a random point of this share of its lifetime
on: profiles fetched together (a burst of new recipients, a warm-up) are refreshed spread over a third of the
lifetime, not in one wave that would hold up the sends."""
REFRESH_GATHER_SECONDS = 0.25
"""Profiles due for a refresh are gathered this long and fetched together, per application, with one
GetNotificationProfiles call: no send waits for them, and one call for many costs user_svc and the gateway a
fraction of one call each (bench/README.md, round two)."""
REFRESH_BATCH = 1000
"""The most user ids one refresh call names (GetNotificationProfiles takes up to 1,000)."""


class ProfileCache:
    """Notification profiles by application and user id, each for 75-100 % of ``ttl_seconds`` (0 = always ask
    user_svc): the spread keeps profiles fetched together (a burst of new recipients) from expiring together. A
    profile used past its refresh point (:data:`REFRESH_WINDOW`) is fetched again in the background, so
    recipients who keep getting notifications are never a miss on the send path, and no copy is older than the
    lifetime."""

    def __init__(self, users: pb_grpc.UserServiceStub, *, timeout: float, ttl_seconds: float, size: int) -> None:
        self._users = users
        self._timeout = timeout
        self._ttl = ttl_seconds
        self._size = size
        self._entries: dict[ProfileKey, tuple[pb.NotificationProfile, float, float]] = {}
        """(application id, user id) → (profile, expires at, refresh from)"""
        self._evictions = 0
        self._refreshing: set[ProfileKey] = set()
        """Keys due for a refresh, fetched together by :attr:`_refresher`."""
        self._refresher: asyncio.Task[None] | None = None

    def cached(self, application_id: str, user_id: str) -> pb.NotificationProfile | None:
        """The profile of ``user_id`` in ``application_id`` when a fresh copy is held."""
        key = (application_id, user_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = time.monotonic()
        if entry[1] < now:
            self._entries.pop(key, None)
            return None
        if entry[2] <= now and key not in self._refreshing:
            self._refreshing.add(key)
            if self._refresher is None:
                self._refresher = asyncio.get_running_loop().create_task(self._refresh(self._evictions))
        return entry[0]

    async def get(self, application_id: str, user_id: str) -> pb.NotificationProfile:
        """The profile of ``user_id`` in ``application_id``; raises the backend's ``AioRpcError`` (NOT_FOUND for
        a user unknown in that application)."""
        profile = self.cached(application_id, user_id)
        if profile is not None:
            return profile
        return await self._fetch((application_id, user_id))

    async def get_many(
        self, application_id: str, user_ids: Sequence[str]
    ) -> tuple[dict[str, pb.NotificationProfile], list[str]]:
        """The profiles of ``user_ids`` (distinct) in ``application_id`` by user id, and the ids of no user there:
        the cached ones, and the others in one GetNotificationProfiles call (then cached). Raises the backend's
        ``AioRpcError``."""
        found: dict[str, pb.NotificationProfile] = {}
        misses: list[str] = []
        for user_id in user_ids:
            profile = self.cached(application_id, user_id)
            if profile is None:
                misses.append(user_id)
            else:
                found[user_id] = profile
        if not misses:
            return found, []
        reply = await self._fetch_many(application_id, misses, self._evictions)
        found.update((profile.user_id, profile) for profile in reply.profiles)
        return found, list(reply.missing_user_ids)

    async def _fetch_many(
        self, application_id: str, user_ids: list[str], evictions: int
    ) -> pb.GetNotificationProfilesResponse:
        """One GetNotificationProfiles call; the profiles it answers are kept unless an eviction came since the
        count was ``evictions``."""
        reply = await self._users.GetNotificationProfiles(
            pb.GetNotificationProfilesRequest(application_id=application_id, user_ids=user_ids), timeout=self._timeout
        )
        for profile in reply.profiles:
            self._keep((application_id, profile.user_id), profile, evictions)
        return reply

    async def _fetch(self, key: ProfileKey) -> pb.NotificationProfile:
        evictions = self._evictions
        application_id, user_id = key
        reply = await self._users.GetNotificationProfile(
            pb.GetNotificationProfileRequest(application_id=application_id, user_id=user_id), timeout=self._timeout
        )
        self._keep(key, reply.profile, evictions)
        return reply.profile

    def _keep(self, key: ProfileKey, profile: pb.NotificationProfile, evictions: int) -> None:
        """Cache ``profile``, fetched when the eviction count was ``evictions``: not when an eviction came
        meanwhile (the fetch may have read the profile before the change that evicted it)."""
        if self._ttl > 0 and evictions == self._evictions:
            if key not in self._entries and len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            lifetime = self._ttl * random.uniform(0.75, 1.0)  # noqa: S311 - jitter, not secrecy
            now = time.monotonic()
            refresh_from = now + lifetime * random.uniform(*REFRESH_WINDOW)  # noqa: S311 - jitter, not secrecy
            self._entries[key] = (profile, now + lifetime, refresh_from)

    async def _refresh(self, evictions: int) -> None:
        """Fetch the profiles due for a refresh, gathered for :data:`REFRESH_GATHER_SECONDS`, a call per
        application; a user gone meanwhile is dropped. None is kept when an eviction came since the gathering
        began (``evictions``: the count then). On a failure the copies held stay until they expire."""
        try:
            await asyncio.sleep(REFRESH_GATHER_SECONDS)
            due, self._refreshing = self._refreshing, set()
            by_application: dict[str, list[str]] = {}
            for application_id, user_id in due:
                by_application.setdefault(application_id, []).append(user_id)
            for application_id, user_ids in by_application.items():
                for start in range(0, len(user_ids), REFRESH_BATCH):
                    await self._refresh_some(application_id, user_ids[start : start + REFRESH_BATCH], evictions)
        finally:
            self._refresher = None

    async def _refresh_some(self, application_id: str, user_ids: list[str], evictions: int) -> None:
        try:
            reply = await self._fetch_many(application_id, user_ids, evictions)
        except Exception as error:
            logger.info("background refresh of %d profiles failed: %s", len(user_ids), error)
            return
        for user_id in reply.missing_user_ids:
            self._entries.pop((application_id, user_id), None)

    def evict(self, application_id: str, user_id: str) -> None:
        """Forget the profile of ``user_id`` in ``application_id`` (it changed)."""
        self._evictions += 1
        self._entries.pop((application_id, user_id), None)

    def clear(self, *_: Any) -> None:
        """Forget every profile (change events may have been missed)."""
        self._evictions += 1
        self._entries.clear()

    async def close(self) -> None:
        """Stop the refresh in flight."""
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
