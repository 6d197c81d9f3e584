"""A broadcast's counters, counted (``COUNT … GROUP BY status`` over its rows) at most once a second per
broadcast, however often it is polled: never a hot counter row that every status change would write."""

from __future__ import annotations

import time
import uuid

from gateway.broadcasts.store import BroadcastStore

MAX_ENTRIES = 10_000
"""Broadcasts whose counts are kept at once; past it, the stale ones are dropped."""


class CachedCounters:
    """The counts of each broadcast, reused for ``ttl_seconds``."""

    def __init__(self, store: BroadcastStore, ttl_seconds: float = 1.0) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._entries: dict[uuid.UUID, tuple[float, dict[str, int]]] = {}

    async def get(self, broadcast_id: uuid.UUID) -> dict[str, int]:
        """The broadcast's counters, at most ``ttl_seconds`` old."""
        now = time.monotonic()
        entry = self._entries.get(broadcast_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        counts = await self._store.count(broadcast_id)
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {key: kept for key, kept in self._entries.items() if kept[0] > now}
        self._entries[broadcast_id] = (now + self._ttl, counts)
        return counts
