"""A service's stop cancels its readiness watcher and waits for it: the watcher must end on every cancellation,
whenever it lands (``asyncio.wait_for`` on Python 3.11 swallowed some, and a stop then hung for ever)."""

from __future__ import annotations

import asyncio
import random

from common.grpc.server import build_server, watch_readiness


async def ready() -> bool:
    await asyncio.sleep(0)
    return True


async def test_the_watcher_ends_on_every_cancellation() -> None:
    server = build_server(register=lambda _: None, service_names=[], internal_key="k", address="127.0.0.1:0")
    chance = random.Random(11)
    for _ in range(300):
        watcher = asyncio.create_task(watch_readiness(server, ready, interval=0.2))
        for _ in range(chance.randint(0, 8)):
            await asyncio.sleep(0)
        watcher.cancel()
        done, _ = await asyncio.wait({watcher}, timeout=1.0)
        assert done, "the watcher went on after it was cancelled"
    await server.server.stop(None)
