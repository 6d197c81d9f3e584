"""The notification-profile cache in Redis: read-through with a short TTL, one ``GET`` on a hit.

A write to a user replaces the cached profile with a tombstone (it does not just delete it), and a reader
fills the cache only if the key still holds what the reader saw before it went to the database (an atomic
compare-and-set script). So a read that loaded the old row while a write committed cannot put the old
profile back after the write's invalidation: the next read after any write sees the write.

Redis is an accelerator here, not a dependency: when it fails, reads go to the database and the failure
is logged and counted; the TTL bounds how long a missed invalidation can linger.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import cast

from prometheus_client import Counter

from common.redis_client import REDIS_FAILURES, RedisClient

logger = logging.getLogger(__name__)

CACHE_READS = Counter(
    "user_svc_profile_cache_reads_total", "Notification profile reads by cache result (hit, miss, error).", ["result"]
)
CACHE_INVALIDATION_FAILURES = Counter(
    "user_svc_profile_cache_invalidation_failures_total", "Writes whose cache invalidation failed (Redis down)."
)

TOMBSTONE = b"tombstone:"

_FILL_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1]) or ''
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""

Loader = Callable[[], Awaitable[bytes | None]]


def profile_key(application_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The Redis key of a user's cached profile: under its application, so no other application's read finds it."""
    return f"user_svc:profile:{application_id}:{user_id}"


class ProfileCache:
    """Serialized notification profiles by application and user id."""

    def __init__(self, redis: RedisClient, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._fill = redis.register_script(_FILL_IF_UNCHANGED)

    async def get_or_load(self, application_id: uuid.UUID, user_id: uuid.UUID, load: Loader) -> bytes | None:
        """The cached profile, else ``load()`` (None: no such user, not cached) stored for the next read."""
        key = profile_key(application_id, user_id)
        try:
            seen = cast(bytes | None, await self._redis.get(key)) or b""  # bytes: no decode_responses
        except REDIS_FAILURES:
            logger.warning("profile cache read failed; reading the database", exc_info=True)
            CACHE_READS.labels("error").inc()
            return await load()
        if seen and not seen.startswith(TOMBSTONE):
            CACHE_READS.labels("hit").inc()
            return seen
        CACHE_READS.labels("miss").inc()
        profile = await load()
        if profile is not None:
            try:
                await self._fill(keys=[key], args=[seen, profile, self._ttl])
            except REDIS_FAILURES:
                logger.warning("profile cache fill failed", exc_info=True)
        return profile

    async def invalidate(self, application_id: uuid.UUID, *user_ids: uuid.UUID) -> None:
        """Drop the users' cached profiles and refuse fills from reads that started before now (one round trip)."""
        if not user_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipeline:
                for user_id in user_ids:
                    pipeline.set(profile_key(application_id, user_id), TOMBSTONE + secrets.token_bytes(8), ex=self._ttl)
                await pipeline.execute()
        except REDIS_FAILURES:
            CACHE_INVALIDATION_FAILURES.inc()
            logger.error("profile cache invalidation failed for %d user(s)", len(user_ids), exc_info=True)
