"""Keys and applications as authentication needs them, held in process so a warm key costs no round trip
(docs/design.md §7 Applications). An entry lives at most ``ttl_seconds`` (30 s in production) and is dropped at
once on ``KeyRevoked``/``ApplicationChanged``; what is not found is remembered briefly too, and lookups that do
reach Postgres are few at a time, so a flood of made-up keys costs a bounded number of queries."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from gateway.tenancy.key_store import ApplicationStore
from gateway.tenancy.records import ApplicationState, KeyGrant

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

NEGATIVE_TTL_SECONDS = 5.0
"""How long a key id or application id that was not found is answered from memory."""
CONCURRENT_LOOKUPS = 4
"""Lookups one process runs against Postgres at once; the others wait their turn."""
_ABSENT: Any = object()


class ExpiringCache(Generic[K, V]):
    """At most ``size`` entries, each for ``ttl_seconds``; the oldest is dropped to make room."""

    def __init__(self, ttl_seconds: float, size: int) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V:
        """The value held for ``key``, or ``_ABSENT``."""
        entry = self._entries.get(key)
        if entry is None:
            return _ABSENT
        if entry[1] < time.monotonic():
            self._entries.pop(key, None)
            return _ABSENT
        return entry[0]

    def put(self, key: K, value: V) -> None:
        if key not in self._entries and len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (value, time.monotonic() + self._ttl)

    def evict(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class _Lookups(Generic[K, V]):
    """Found and not-found answers of one lookup, with one query in flight per key."""

    def __init__(self, fetch: Callable[[K], Awaitable[V | None]], ttl: float, size: int, gate: asyncio.Semaphore):
        self._fetch = fetch
        self._found: ExpiringCache[K, V] = ExpiringCache(ttl, size)
        self._missing: ExpiringCache[K, None] = ExpiringCache(min(ttl, NEGATIVE_TTL_SECONDS), size)
        self._gate = gate
        self._in_flight: dict[K, asyncio.Future[V | None]] = {}
        self._generation = 0

    async def get(self, key: K) -> V | None:
        found = self._found.get(key)
        if found is not _ABSENT:
            return found
        if self._missing.get(key) is not _ABSENT:
            return None
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return await asyncio.shield(pending)

    async def _load(self, key: K) -> V | None:
        generation = self._generation
        async with self._gate:
            value = await self._fetch(key)
        if generation == self._generation:  # not forgotten meanwhile: what was read is still news
            if value is None:
                self._missing.put(key, None)
            else:
                self._found.put(key, value)
        return value

    def evict(self, key: K) -> None:
        self._generation += 1
        self._found.evict(key)
        self._missing.evict(key)

    def clear(self, *_: Any) -> None:
        self._generation += 1
        self._found.clear()
        self._missing.clear()


class CredentialCache:
    """Key grants by key id and application states by application id, read through from the store."""

    def __init__(self, store: ApplicationStore, *, ttl_seconds: float, size: int) -> None:
        gate = asyncio.Semaphore(CONCURRENT_LOOKUPS)
        self._keys: _Lookups[str, KeyGrant] = _Lookups(store.grant, ttl_seconds, size, gate)
        self._applications: _Lookups[uuid.UUID, ApplicationState] = _Lookups(
            store.application_state, ttl_seconds, size, gate
        )

    async def key(self, key_id: str) -> KeyGrant | None:
        """What ``key_id`` grants (revoked keys included), or None for no such key."""
        return await self._keys.get(key_id)

    async def application(self, application_id: uuid.UUID) -> ApplicationState | None:
        """The application's state, or None for no such application."""
        return await self._applications.get(application_id)

    def forget_key(self, key_id: str) -> None:
        """The key changed (revoked): read it again on its next use."""
        self._keys.evict(key_id)

    def forget_application(self, application_id: uuid.UUID) -> None:
        """The application changed (limit, disabling): read it again on its next use."""
        self._applications.evict(application_id)

    def clear(self, *_: Any) -> None:
        """Forget everything (change events may have been missed)."""
        self._keys.clear()
        self._applications.clear()
