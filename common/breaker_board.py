"""Circuit breaker states shared through Redis (docs/design.md §7 "The console"): each worker process writes
its breakers' states, every few seconds, as one field of the hash :data:`BOARD_KEY`; ``GET /v1/stats`` reads
the hash and leaves out entries not refreshed within :data:`STALE_SECONDS` (a stopped worker's).

A field is ``<worker>@<host>:<pid>``; its value JSON ``{"worker", "instance", "at", "breakers": {name:
state}}`` with ``state`` one of ``closed``, ``half_open``, ``open``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from common.redis_client import RedisClient

BOARD_KEY = "notify:breakers"
PUBLISH_SECONDS = 2.0
STALE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class BreakerReport:
    """One worker process's breakers as it last wrote them."""

    worker: str
    instance: str
    at: float
    """Unix time of the write."""
    breakers: dict[str, str]


async def write_breakers(redis: RedisClient, worker: str, instance: str, breakers: dict[str, str]) -> None:
    """Record this process's breaker states now."""
    report = {"worker": worker, "instance": instance, "at": time.time(), "breakers": breakers}
    await redis.hset(BOARD_KEY, instance, orjson.dumps(report))


async def forget_breakers(redis: RedisClient, instance: str) -> None:
    """A process that stops takes its entry off the board."""
    await redis.hdel(BOARD_KEY, instance)


async def read_breakers(redis: RedisClient) -> list[BreakerReport]:
    """The fresh reports, by worker and instance; stale or unreadable entries are deleted on the way."""
    found: dict[Any, Any] = await redis.hgetall(BOARD_KEY)
    fresh: list[BreakerReport] = []
    stale: list[Any] = []
    for field, raw in found.items():
        try:
            report = BreakerReport(**orjson.loads(raw))
        except (orjson.JSONDecodeError, TypeError):
            stale.append(field)
            continue
        if time.time() - report.at <= STALE_SECONDS:
            fresh.append(report)
        else:
            stale.append(field)
    if stale:
        await redis.hdel(BOARD_KEY, *stale)
    return sorted(fresh, key=lambda report: (report.worker, report.instance))
