"""Outcome writes in batches: attempts that finish close together are written by one statement, which is what lets
one worker record hundreds of deliveries a second. A failed write is tried again with what arrived since; a write
that comes too late (the lease lapsed) is ignored by the guard in :mod:`webhook_worker.deliveries`, and the delivery
is then sent again."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from webhook_worker.deliveries import Outcome, write_outcomes

logger = logging.getLogger(__name__)

GATHER_SECONDS = 0.02
"""How long a write waits for more outcomes to join it."""
RETRY_PAUSE_SECONDS = 1.0


class OutcomeWriter:
    """Collects outcomes and writes them; ``run()`` until cancelled, then ``flush()``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: list[Outcome] = []
        self._arrived = asyncio.Event()

    def add(self, outcome: Outcome) -> None:
        """Queue ``outcome`` for the next write."""
        self._waiting.append(outcome)
        self._arrived.set()

    async def run(self) -> None:
        """Write what arrives, one statement per gathering."""
        while True:
            await self._arrived.wait()
            await asyncio.sleep(GATHER_SECONDS)
            try:
                await self.flush()
            except Exception:  # the database, or anything else: the outcomes stay queued
                logger.warning("could not write webhook outcomes; trying again", exc_info=True)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def flush(self) -> None:
        """Write every queued outcome now (kept for the next try when the write fails)."""
        self._arrived.clear()
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        try:
            await write_outcomes(self._pool, batch)
        except BaseException:
            self._waiting[:0] = batch
            self._arrived.set()
            raise
