"""The breaker board on a real Redis: a worker's report is read back while fresh, and a stale or unreadable
entry (a worker that died without taking its entry off) is left out and deleted."""

from __future__ import annotations

import time

import orjson
from redis.asyncio import Redis

from common.breaker_board import BOARD_KEY, STALE_SECONDS, forget_breakers, read_breakers, write_breakers


async def test_fresh_reports_are_read_and_stale_ones_dropped(redis: Redis) -> None:
    await redis.delete(BOARD_KEY)
    await write_breakers(redis, "email_worker", "email_worker@a:1", {"email": "closed", "smtp primary": "open"})
    dead = {
        "worker": "push_worker",
        "instance": "push_worker@b:2",
        "at": time.time() - STALE_SECONDS - 1,
        "breakers": {},
    }
    await redis.hset(BOARD_KEY, "push_worker@b:2", orjson.dumps(dead))
    await redis.hset(BOARD_KEY, "garbage", b"not json")

    [report] = await read_breakers(redis)

    assert (report.worker, report.breakers) == ("email_worker", {"email": "closed", "smtp primary": "open"})
    assert set(await redis.hkeys(BOARD_KEY)) == {b"email_worker@a:1"}
    await forget_breakers(redis, "email_worker@a:1")
    assert await read_breakers(redis) == []
