"""Natural batching: calls that arrive while a batch is running go together in the next one.

No timer delays anything: under light load every call runs alone at once; under heavy load the round trips
are shared, which is what lets a worker write hundreds of statuses a second with a few connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs ``run(items)`` (which answers one result per item, in order) for items submitted concurrently.

    A failing batch fails every call in it with the same exception.
    """

    def __init__(self, run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], *, max_size: int = 500) -> None:
        self._run = run
        self._max_size = max_size
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Add ``item`` to the next batch and wait for its result."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_size]
                del self._pending[: self._max_size]
                try:
                    results = await self._run([item for item, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch + self._pending:
                        future.cancel()
                    self._pending.clear()
                    raise
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flusher = None
