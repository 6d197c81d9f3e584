"""``gateway migrate``'s Redis step: release 1's idempotency records, named after the API key
(``gw:idem:<key id>:<Idempotency-Key>``), are copied to their release-2 names in the default application
(``gw:{a:<default>}:idem:<Idempotency-Key>``, :mod:`gateway.redis_keys`) with the time they have left, so a
send retried across the upgrade is replayed, not sent twice (docs/design.md §7 "Redis keys").

Every live record is copied, completed or still in flight: an in-flight copy answers a retry 409 (in flight)
until it lapses, as the original would. A record already at the new name is never overwritten, except a copy
this step made of a record in flight (same owner, no response) whose original has completed since: run again
once the release-1 gateways are gone, the step picks up what they finished meanwhile. Running it twice changes
nothing more. Release-1 records are read with SCAN (never KEYS) and left to expire.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from common.applications import DEFAULT_APPLICATION_ID
from common.redis_client import RedisClient, redis_client
from gateway.redis_keys import RELEASE_1_IDEMPOTENCY_PATTERN, idempotency_record

logger = logging.getLogger(__name__)

_RELEASE_1_PREFIX = "gw:idem:"

_COPY = """
local held = redis.call('HMGET', KEYS[1], 'o', 'r')
if held[1] or held[2] then
  if not (held[1] == ARGV[2] and not held[2] and ARGV[3] ~= '') then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'o', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
"""Writes the record ``KEYS[1]`` (body hash ``ARGV[1]``, owner ``ARGV[2]``, response ``ARGV[3]`` or '', ``ARGV[4]``
ms to live) unless a record is there already; the one exception is this step's own copy of a request then in
flight (same owner, no response), which a completed original replaces. Answers 1 when it wrote."""

SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What a run found and did."""

    found: int
    copied: int


def release_2_name(release_1_name: str) -> str | None:
    """The release-2 name of a release-1 record, or None for a name that is not one (``gw:idem:<key id>:<key>``;
    the Idempotency-Key may itself hold colons, the key id never does)."""
    if not release_1_name.startswith(_RELEASE_1_PREFIX):
        return None
    key_id, separator, idempotency_key = release_1_name[len(_RELEASE_1_PREFIX) :].partition(":")
    if not key_id or not separator or not idempotency_key:
        return None
    return idempotency_record(str(DEFAULT_APPLICATION_ID), idempotency_key)


async def copy_release_1_records(redis: RedisClient) -> CopyReport:
    """Copy every live release-1 idempotency record to its release-2 name (see the module's docstring)."""
    copy = redis.register_script(_COPY)
    found = copied = 0
    async for raw_name in redis.scan_iter(match=RELEASE_1_IDEMPOTENCY_PATTERN, count=SCAN_BATCH, _type="hash"):
        name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
        target = release_2_name(name)
        if target is None:
            continue
        found += 1
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(name)
            pipe.pttl(name)
            fields, ttl_ms = await pipe.execute()
        if not fields or ttl_ms <= 0 or b"h" not in fields or b"o" not in fields:
            continue  # expired meanwhile, kept for ever by hand, or not a record
        response = fields.get(b"r", b"")
        copied += int(await copy(keys=[target], args=[fields[b"h"], fields[b"o"], response, ttl_ms]))
    return CopyReport(found, copied)


def migrate_idempotency_records(redis_url: str) -> None:
    """The migration step run by ``python -m gateway migrate``, after the database's."""

    async def run() -> CopyReport:
        redis = redis_client(redis_url, socket_connect_timeout=5, socket_timeout=10)
        try:
            return await copy_release_1_records(redis)
        finally:
            await redis.aclose()

    report = asyncio.run(run())
    logger.info("idempotency records of release 1: %d found, %d copied", report.found, report.copied)
