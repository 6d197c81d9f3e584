"""Writes a worker process's breaker states to Redis every :data:`~common.breaker_board.PUBLISH_SECONDS`, for
``GET /v1/stats`` (``common.breaker_board``). Best effort: a Redis that is down costs a log line, never a
delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Sequence

from common.breaker_board import PUBLISH_SECONDS, forget_breakers, write_breakers
from common.redis_client import redis_client
from delivery.breaker import CircuitBreaker

logger = logging.getLogger(__name__)


class BreakerPublisher:
    """Publishes the breakers ``breakers()`` returns under the worker name ``worker``."""

    def __init__(self, redis_url: str, worker: str, breakers: Callable[[], Sequence[CircuitBreaker]]) -> None:
        self._redis = redis_client(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self._worker = worker
        self._instance = f"{worker}@{socket.gethostname()}:{os.getpid()}"
        self._breakers = breakers
        self._task: asyncio.Task[None] | None = None

    def states(self) -> dict[str, str]:
        """Each breaker's name and state (``closed``, ``half_open``, ``open``)."""
        return {str(breaker.name): breaker.state.name.lower() for breaker in self._breakers()}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="breaker-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await forget_breakers(self._redis, self._instance)
        await self._redis.aclose()

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await write_breakers(self._redis, self._worker, self._instance, self.states())
                failing = False
            except Exception as error:
                if not failing:
                    logger.warning("could not publish breaker states to Redis: %s", error)
                failing = True
            await asyncio.sleep(PUBLISH_SECONDS)
