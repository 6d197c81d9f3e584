"""Natural batching: calls that arrive while a batch is running go together in the next one.

Under light load every call runs alone at once. Under steady load a batcher given a ``linger`` also waits that
long before each batch while the previous one ended recently, so that a statement carries several calls even
when the database answers faster than they arrive: each statement (and its commit) costs PostgreSQL a few
hundred µs of CPU whatever it carries (bench/README.md, round two).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

Item = TypeVar("Item")
Result = TypeVar("Result")

BUSY_WINDOWS = 4
"""A batch that starts within this many lingers of the previous one's end finds the batcher busy, and lingers."""
BATCH_CALLS = Histogram(
    "batched_calls_per_run",
    'Calls one batched statement carried (GATEWAY_/…_DB_BATCH_LINGER_MS; docs/operations.md "Tuning").',
    ["batch"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
FULL_ENOUGH = 16
"""A batch that already holds this many calls runs at once: under heavy load the calls that arrive during a
statement fill the next one, and waiting would only add latency."""


class Batcher(Generic[Item, Result]):
    """Runs ``run(items)`` (which answers one result per item, in order) for items submitted concurrently; the
    calls per run are observed under ``name`` in :data:`BATCH_CALLS`.

    A failing batch fails every call in it with the same exception. ``linger_seconds`` (0: never) is how long a
    batch waits for more calls while traffic is steady; a lone call never waits, nor a batch already full enough
    (:data:`FULL_ENOUGH`).
    """

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        name: str,
        max_size: int = 500,
        linger_seconds: float = 0.0,
    ) -> None:
        self._run = run
        self._sizes = BATCH_CALLS.labels(name)
        self._max_size = max_size
        self._linger = linger_seconds
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._last_end = float("-inf")

    async def submit(self, item: Item) -> Result:
        """Add ``item`` to the next batch and wait for its result."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    def _busy(self, now: float) -> bool:
        recent = now - self._last_end < self._linger * BUSY_WINDOWS
        return self._linger > 0 and recent and len(self._pending) < min(FULL_ENOUGH, self._max_size)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                if self._busy(loop.time()):
                    await asyncio.sleep(self._linger)
                batch = self._pending[: self._max_size]
                del self._pending[: self._max_size]
                self._sizes.observe(len(batch))
                try:
                    results = await self._run([item for item, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                finally:
                    self._last_end = loop.time()
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        except asyncio.CancelledError:
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
            raise
        finally:
            self._flusher = None
