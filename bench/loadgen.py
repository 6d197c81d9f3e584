"""A Python load generator for fixed offered rates (open loop: request ``i`` is due at ``start + i / rate``
whether or not earlier ones have been answered, and its latency counts from when it was due, so a slow server
cannot hide its queueing delay), over keep-alive HTTP/1.1 connections. wrk drives the saturation runs; this
drives the fixed-rate and mixed runs, where every answer's body (the notification id) is kept.

The open loop runs in a process of its own (:func:`open_loop_in_process`): in the driver's process, the monitor's
/proc scans and database reads would hold its event loop for tens of milliseconds now and then, and every request
due meanwhile would be sent late and counted as the server's latency."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import uvloop

MAX_CONNECTIONS = 512
ANSWER_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it was due (monotonic), how long until its answer, the status (0: no answer), body."""

    due: float
    latency: float
    status: int
    body: bytes


RequestFactory = Callable[[int], bytes]
"""Builds request number ``i`` as the bytes to send (request line, headers and body)."""


class _Connections:
    """Idle keep-alive connections to one server, opened on demand up to :data:`MAX_CONNECTIONS`."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        self._free = asyncio.Semaphore(MAX_CONNECTIONS)

    async def exchange(self, payload: bytes) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body). A kept-alive connection the server closed while
        it was idle (uvicorn closes them after 5 s) fails before any byte of an answer: the request is sent again
        on a new connection once, as HTTP clients do for a stale pooled connection."""
        async with self._free:
            reused = bool(self.idle)
            while True:
                if reused and self.idle:
                    reader, writer = self.idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    self.opened += 1
                try:
                    writer.write(payload)
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    writer.close()
                    stale = not isinstance(error, asyncio.IncompleteReadError) or not error.partial
                    if reused and stale:
                        reused = False
                        continue
                    raise
                except BaseException:
                    writer.close()
                    raise
                try:
                    status = int(head[9:12])
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        if line[:15].lower() == b"content-length:":
                            length = int(line[15:])
                    body = await reader.readexactly(length) if length else b""
                except BaseException:
                    writer.close()
                    raise
                self.idle.append((reader, writer))
                return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _one(connections: _Connections, payload: bytes, due: float, samples: list[Sample]) -> None:
    try:
        status, body = await asyncio.wait_for(connections.exchange(payload), ANSWER_TIMEOUT_SECONDS)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        status, body = 0, b""
    samples.append(Sample(due, time.monotonic() - due, status, body))


async def open_loop(host: str, port: int, rate: float, seconds: float, build: RequestFactory) -> list[Sample]:
    """Offer ``rate`` requests a second for ``seconds``; every sample, once each request is answered (or has
    waited :data:`ANSWER_TIMEOUT_SECONDS`)."""
    connections = _Connections(host, port)
    samples: list[Sample] = []
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    start = time.monotonic() + 0.05
    try:
        for index in range(total):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_one(connections, build(index), due, samples))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(set(tasks), timeout=ANSWER_TIMEOUT_SECONDS + 5)
    finally:
        for task in tasks:
            task.cancel()
        connections.close()
    return samples


def _open_loop_here(host: str, port: int, rate: float, seconds: float, build: RequestFactory) -> list[Sample]:
    return uvloop.run(open_loop(host, port, rate, seconds, build))


async def open_loop_in_process(
    host: str, port: int, rate: float, seconds: float, build: RequestFactory
) -> list[Sample]:
    """:func:`open_loop` in a fresh process that does nothing else (``build`` must pickle)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, _open_loop_here, host, port, rate, seconds, build)


async def closed_loop(
    host: str, port: int, concurrency: int, seconds: float, build: RequestFactory, limit: int = 10**9
) -> list[Sample]:
    """As fast as ``concurrency`` connections go for ``seconds`` (or ``limit`` requests): the generator's own
    ceiling, or a warm-up."""
    connections = _Connections(host, port)
    samples: list[Sample] = []
    deadline = time.monotonic() + seconds
    counter = iter(range(limit))

    async def worker() -> None:
        for index in counter:
            if time.monotonic() >= deadline:
                return
            await _one(connections, build(index), time.monotonic(), samples)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        connections.close()
    return samples


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]
