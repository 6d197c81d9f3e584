"""Scenario 7: webhook_worker SIGKILLed mid-batch, then the webhook receiver down for 30 s, under load.

One endpoint at the dev webhook receiver subscribes to ``notification.queued``, ``.delivered`` and ``.failed``:
every accepted send commits a ``queued`` event and, in the end, one final one. The worker is stopped for a
moment so the outbox fills, started, and SIGKILLed as soon as deliveries arrive again (its claimed batch is
half sent); then the receiver stops for 30 s, so deliveries fail and wait on the retry ladder (``CHAOS_LADDER``,
longer than the outage). Afterwards every committed event has reached the receiver at least once, and each
event's copies carry one ``webhook-id``: at-least-once, with the id a receiver deduplicates on
(docs/design.md §7 "Events out").
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import httpx

from tests.chaos.ledger import RESULTS, Tally
from tests.chaos.scenario import Chaos, all_ready, eventually
from tests.e2e.webhooks import Receiver, Webhooks, body, hook_path

EVENTS = ["notification.queued", "notification.delivered", "notification.failed"]
BACKLOG_SECONDS = 2.0
RECEIVER_DOWN_SECONDS = 30.0
RECOVERY_SECONDS = 150.0


async def kill_mid_batch(chaos: Chaos, receiver: Receiver) -> int:
    """Stop webhook_worker so a backlog builds, start it, SIGKILL it once deliveries flow again; returns how many
    had arrived since the restart when it was killed."""
    stack = chaos.stack
    await stack.stop_service("webhook_worker")
    await asyncio.sleep(BACKLOG_SECONDS)
    before = (await receiver.stats())["received"]
    await stack.start_service("webhook_worker", wait=False)
    deadline = time.monotonic() + 20
    arrived = 0
    while time.monotonic() < deadline:
        arrived = (await receiver.stats())["received"] - before
        if arrived:
            break
        await asyncio.sleep(0.01)
    await stack.kill_service("webhook_worker")
    await stack.start_service("webhook_worker")
    return arrived


def copies_by_event(deliveries: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The receiver's answered-2xx deliveries by (notification id, event type)."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for delivery in deliveries:
        if 200 <= delivery["answer"] < 300:
            data = body(delivery)["data"]
            found[(data["notification_id"], delivery["type"])].append(delivery)
    return found


async def test_every_committed_event_arrives_despite_a_killed_worker_and_a_receiver_outage(chaos: Chaos) -> None:
    stack = chaos.stack
    webhooks = Webhooks(chaos.api.http)
    async with httpx.AsyncClient(base_url=stack.url("webhook_receiver"), timeout=30) as http:
        receiver = Receiver(http)
        path = hook_path("chaos")
        endpoint = await webhooks.create(receiver.url(path), EVENTS)
        await receiver.trust(path, endpoint["secret"])
        try:
            load = await chaos.start_load()
            arrived_before_kill = await kill_mid_batch(chaos, receiver)
            await stack.stop_service("webhook_receiver")
            await asyncio.sleep(RECEIVER_DOWN_SECONDS)
            await stack.start_service("webhook_receiver")
            back = time.monotonic()
            await receiver.trust(path, endpoint["secret"])  # a restarted receiver has forgotten its secrets
            await all_ready(stack)
            result = await load.finish()
            counted = await chaos.tally("7 webhooks: notifications", result)
            finals = {nid: (await chaos.api.status(nid))["status"] for nid in result.accepted}
            expected = {(nid, "notification.queued") for nid in finals} | {
                (nid, f"notification.{status}") for nid, status in finals.items() if status in ("delivered", "failed")
            }

            async def all_arrived() -> bool:
                return expected <= set(copies_by_event(await receiver.deliveries(path)))

            await eventually(all_arrived, "every event at the receiver", timeout=RECOVERY_SECONDS)
            caught_up = time.monotonic() - back
            await asyncio.sleep(1.0)
            copies = copies_by_event(await receiver.deliveries(path))
            given_up = await webhooks.deliveries(endpoint["id"], status="failed")
        finally:
            await webhooks.delete(endpoint["id"])

    missing = sorted(expected - set(copies))
    ids_per_event = {event: {item["webhook_id"] for item in items} for event, items in copies.items()}
    duplicates = {f"{nid} {kind}": len(items) - 1 for (nid, kind), items in copies.items() if len(items) > 1}
    row = Tally(
        "7 webhooks: events", len(expected), delivered=len(expected) - len(missing), lost=[str(m) for m in missing]
    )
    row.duplicates = duplicates
    row.notes.append(
        f"webhook_worker SIGKILLed with {arrived_before_kill} deliveries of its batch arrived; receiver down "
        f"{RECEIVER_DOWN_SECONDS:.0f} s; every event had arrived {caught_up:.1f} s after it was back; "
        f"{sum(duplicates.values())} duplicate deliveries, each with its event's webhook-id"
    )
    RESULTS.append(row)

    assert not counted.lost, counted.notes
    assert not missing, missing[:5]
    assert all(len(ids) == 1 for ids in ids_per_event.values()), {e: i for e, i in ids_per_event.items() if len(i) > 1}
    assert all(item["verified"] for items in copies.values() for item in items)
    assert not given_up, given_up
