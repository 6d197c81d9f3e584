"""A provider's send ceiling (``<WORKER>_MAX_PER_SECOND``), shared by every replica through Redis.

One atomic Lua script per send reserves the next free slot on the Redis clock (slots are ``1/rate`` apart)
and answers how long to wait for it, so a message over the ceiling waits its turn and is never failed for it,
and the replicas never need clocks of their own to agree.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files

from common.redis_client import RedisClient

SCRIPT = files(__package__).joinpath("rate_limit.lua").read_text()


def rate_key(provider: str) -> str:
    """The Redis key that holds ``provider``'s next free send slot."""
    return f"notifications:send-rate:{provider}"


class RateLimiter:
    """Spaces sends to ``provider`` at most ``per_second`` apart across every process sharing ``redis``."""

    def __init__(self, redis: RedisClient, provider: str, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self._key = rate_key(provider)
        self._spacing_us = round(1_000_000 / per_second)
        self._script = redis.register_script(SCRIPT)

    async def wait_turn(self) -> float:
        """Reserve the next send slot and sleep until it comes; returns the seconds waited."""
        wait_us = int(await self._script(keys=[self._key], args=[self._spacing_us]))
        if wait_us <= 0:
            return 0.0
        await asyncio.sleep(wait_us / 1_000_000)
        return wait_us / 1_000_000
