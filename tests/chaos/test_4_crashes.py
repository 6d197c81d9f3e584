"""Scenario 4: processes SIGKILLed mid-load and restarted.

- Each worker: the broker hands its unacknowledged messages to the restarted worker. A message whose send was
  under way when the process died is sent again (its row is still ``sending``): the one window where a
  recipient can get two copies (docs/design.md §1). Those duplicates are counted and must be at most the messages the
  worker could have had in flight (its concurrency); emails carry the same ``Message-ID`` and pushes the same
  collapse key, so mail systems and devices can fold them.
- user_svc and template_svc: while one is down, sends answer 503 or succeed from the gateway's caches (profiles,
  templates), and nothing is accepted that is not delivered; after the restart the gateway's channels reconnect.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from devstack.stack import Stack
from tests.chaos.scenario import Chaos, all_ready, assert_accounted

DOWN_SECONDS = 1.5
BACKLOG_SECONDS = 3.0
BUSY_TIMEOUT_SECONDS = 10.0
WORKERS = {"email_worker": "email", "push_worker": "push"}


def concurrency(stack: Stack, worker: str) -> int:
    """The worker's ``*_CONCURRENCY`` (default 32): the most messages one replica works on at once."""
    return int(stack.environment.get(f"{worker.upper()}_CONCURRENCY", "32"))


async def kill_while_busy(stack: Stack, worker: str, channel: str) -> float:
    """SIGKILL ``worker`` in the middle of its work: it is stopped gracefully for a moment so a backlog builds,
    started again, and killed once it has delivered something and still has messages in flight (at 30 sends a
    second an idle worker would have nothing in flight to lose; if that moment does not come within a few
    seconds it is killed anyway). Returns ``notifications_in_flight`` read just before the kill."""
    await stack.stop_service(worker)
    await asyncio.sleep(BACKLOG_SECONDS)
    await stack.start_service(worker, wait=False)
    url = stack.url(worker)
    busy = 0.0
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                metrics = (await http.get(f"{url}/metrics")).text
            except httpx.HTTPError:
                await asyncio.sleep(0.01)  # its HTTP side is not up yet
                continue
            busy = sample(metrics, "notifications_in_flight", channel)
            if busy > 0 and sample(metrics, "notifications_delivered_total", channel) > 0:
                break
    await stack.kill_service(worker)
    return busy


def sample(metrics: str, name: str, channel: str) -> float:
    """``name{channel=...}`` from a ``/metrics`` text (0 when absent)."""
    for line in metrics.splitlines():
        if line.startswith(f'{name}{{channel="{channel}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_each_worker_killed_mid_load_duplicates_at_most_what_was_in_flight(chaos: Chaos) -> None:
    stack = chaos.stack
    load = await chaos.start_load()
    busy = await asyncio.gather(*(kill_while_busy(stack, worker, channel) for worker, channel in WORKERS.items()))
    in_flight = dict(zip(WORKERS, busy, strict=True))
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.gather(*(stack.start_service(worker) for worker in WORKERS))

    result = await load.finish()
    counted = await chaos.tally("4a email_worker, push_worker SIGKILLed", result)
    by_channel = {
        channel: sum(n for nid, n in counted.duplicates.items() if result.accepted[nid] == channel)
        for channel in WORKERS.values()
    }
    counted.notes.append(
        f"in flight when killed: {in_flight}; duplicates by channel: {by_channel} "
        f"(bound: concurrency {concurrency(stack, 'email_worker')} x 1 replica per worker)"
    )

    assert_accounted(result, counted, max_duplicates=sum(concurrency(stack, worker) for worker in WORKERS))
    for worker, channel in WORKERS.items():
        assert by_channel[channel] <= concurrency(stack, worker), (worker, counted.duplicates)


async def test_user_svc_and_template_svc_killed_mid_load_lose_nothing(chaos: Chaos) -> None:
    stack = chaos.stack
    load = await chaos.start_load()
    windows = []
    for service in ("user_svc", "template_svc"):
        down = time.monotonic()
        await stack.kill_service(service)
        await asyncio.sleep(DOWN_SECONDS)
        await stack.start_service(service)
        windows.append((down, time.monotonic()))
    recovered = await all_ready(stack)

    result = await load.finish()
    counted = await chaos.tally("4b user_svc, template_svc SIGKILLed", result)
    refused = [result.refused_between(start, end) for start, end in windows]
    counted.notes.append(f"refusals while user_svc / template_svc were down: {refused}; ready {recovered:.1f}s later")

    assert_accounted(result, counted)
