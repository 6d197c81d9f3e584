"""``last_used_at`` of issued keys: a use is noted in memory, and the keys used since the last flush are
written in one batched UPDATE, each at most once a minute (docs/design.md §7 Applications), so a send costs
no write for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from common.periodic import run_every
from gateway.tenancy.key_store import ApplicationStore

logger = logging.getLogger(__name__)

RECORD_EVERY_SECONDS = 60.0
"""A key's ``last_used_at`` moves at most this often."""
MAX_PENDING = 100_000


class KeyUsage:
    """Collects the keys used and records them every ``interval_seconds``."""

    def __init__(self, store: ApplicationStore, interval_seconds: float) -> None:
        self._store = store
        self._interval = interval_seconds
        self._recorded: dict[str, float] = {}
        """key id → when its last use was noted for writing (monotonic)"""
        self._pending: dict[str, datetime] = {}

    def used(self, key_id: str) -> None:
        """Note a use of ``key_id``; costs a dictionary lookup unless a minute passed since the last noted."""
        now = time.monotonic()
        last = self._recorded.get(key_id)
        if last is not None and now - last < RECORD_EVERY_SECONDS:
            return
        if len(self._pending) >= MAX_PENDING:
            return
        if len(self._recorded) >= MAX_PENDING:
            self._recorded = {key: at for key, at in self._recorded.items() if now - at < RECORD_EVERY_SECONDS}
        self._recorded[key_id] = now
        self._pending[key_id] = datetime.now(UTC)

    async def flush(self) -> None:
        """Write the pending uses; on a database error they are kept for the next flush."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            await self._store.record_use(pending)
        except BaseException:
            self._pending = {**pending, **self._pending}
            raise

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            await run_every(self._interval, self.flush, "recording of key use")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
