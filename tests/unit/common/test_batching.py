"""Natural batching: concurrent calls share one run; a failing run fails its calls only."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from common.batching import FULL_ENOUGH, Batcher


async def test_calls_made_while_a_batch_runs_go_together_in_the_next() -> None:
    runs: list[list[int]] = []

    async def run(items: Sequence[int]) -> list[int]:
        runs.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 2 for item in items]

    batcher: Batcher[int, int] = Batcher(run, name="test")
    assert await asyncio.gather(*(batcher.submit(n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert runs == [[0], [1, 2, 3, 4]] or runs == [[0, 1, 2, 3, 4]]
    assert await batcher.submit(7) == 14


async def test_a_failing_batch_fails_its_calls_and_the_next_batch_still_runs() -> None:
    async def run(items: Sequence[int]) -> list[int]:
        if 0 in items:
            raise RuntimeError("database down")
        return list(items)

    batcher: Batcher[int, int] = Batcher(run, name="test", max_size=1)
    results = await asyncio.gather(batcher.submit(0), batcher.submit(1), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert results[1] == 1


async def test_batches_are_capped_at_max_size() -> None:
    sizes: list[int] = []

    async def run(items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        return list(items)

    batcher: Batcher[int, int] = Batcher(run, name="test", max_size=3)
    await asyncio.gather(*(batcher.submit(n) for n in range(7)))
    assert max(sizes) <= 3
    assert sum(sizes) == 7


async def test_cancelling_the_flush_cancels_the_waiting_calls() -> None:
    started = asyncio.Event()

    async def run(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(10)
        return list(items)

    batcher: Batcher[int, int] = Batcher(run, name="test")
    call = asyncio.create_task(batcher.submit(1))
    await started.wait()
    assert batcher._flusher is not None
    batcher._flusher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


def recorded() -> tuple[list[list[int]], Callable[[Sequence[int]], Awaitable[list[int]]]]:
    """A run that answers its items and the list of the batches it was given."""
    runs: list[list[int]] = []

    async def run(items: Sequence[int]) -> list[int]:
        runs.append(list(items))
        return list(items)

    return runs, run


async def test_a_lone_call_runs_at_once_even_with_a_linger() -> None:
    runs, run = recorded()
    batcher: Batcher[int, int] = Batcher(run, name="test", linger_seconds=60)
    assert await asyncio.wait_for(batcher.submit(1), 5) == 1  # no batch ran before: nothing to linger for
    assert runs == [[1]]


async def test_under_steady_traffic_a_linger_gathers_calls_that_arrive_apart() -> None:
    runs, run = recorded()
    batcher: Batcher[int, int] = Batcher(run, name="test", linger_seconds=0.5)
    await batcher.submit(0)  # the batcher is now busy: the next batch lingers

    async def later(n: int) -> int:
        await asyncio.sleep(0.005 * n)
        return await batcher.submit(n)

    assert await asyncio.gather(*(later(n) for n in range(1, 4))) == [1, 2, 3]
    assert runs == [[0], [1, 2, 3]]


async def test_a_batch_full_enough_runs_without_lingering() -> None:
    runs, run = recorded()
    batcher: Batcher[int, int] = Batcher(run, name="test", linger_seconds=60)
    await batcher.submit(0)  # busy from now on: a small batch would wait a minute
    calls = [batcher.submit(n) for n in range(FULL_ENOUGH)]
    assert await asyncio.wait_for(asyncio.gather(*calls), 5) == list(range(FULL_ENOUGH))
    assert runs == [[0], list(range(FULL_ENOUGH))]
