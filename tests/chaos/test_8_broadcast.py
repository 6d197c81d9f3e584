"""Scenario 8: the gateway running a topic's fan-out SIGKILLed at random points, three times.

Two gateway replicas run the fan-out (a short lease, so a takeover comes within seconds, and a reconciler that
publishes what a killed replica wrote but never published). A 20,000-subscriber broadcast is sent; each time
its checkpoint passes a random point, the replica holding its lease is killed a random moment later (mid-page,
or between pages) and started again; the other one takes the job over once the lease lapses. Every subscriber
must get exactly one email (counted by recipient in the SMTP sink) and the broadcast must end ``done``."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from bench.audiences import seed_users, subscribe_all
from common.db import plain_url
from devstack.stack import Stack, free_port
from tests.chaos.ledger import RESULTS, Tally
from tests.chaos.scenario import Chaos, all_ready, eventually
from tests.e2e.api import unique

SUBSCRIBERS = 20_000
KILLS = 3
FAN_OUT_SETTINGS = {
    "GATEWAY_BROADCAST_LEASE_SECONDS": "2",
    "GATEWAY_BROADCAST_PAGE_SIZE": "250",
    "GATEWAY_BROADCAST_INTERVAL_SECONDS": "0.5",
    "GATEWAY_RECONCILER_INTERVAL_SECONDS": "1",
    "GATEWAY_RECONCILER_AGE_SECONDS": "3",
}
"""Both replicas: a lease of 2 s (30 s in production), pages of 250 (80 pages, so 80 checkpoints to kill
around), and rows left unpublished by a kill published again after 3 s."""
DELIVERY_SECONDS = 300.0
_BROADCAST = "SELECT state, recipients, lease_owner FROM broadcasts WHERE id = $1"


def holder(stack: Stack, lease_owner: str | None) -> str | None:
    """The instance whose process holds a lease (``host:pid:…``), or None when that process is gone."""
    if not lease_owner:
        return None
    pid = int(lease_owner.split(":")[1])
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return None
    for instance, process in stack.processes.items():
        if process.running and process.service_pid() == group:
            return instance
    return None


async def mail_count(chaos: Chaos) -> int:
    """How many messages the SMTP sink holds (its cheap count, not the listing)."""
    response = await chaos.mailbox.http.get("/messages/count")
    response.raise_for_status()
    return int(response.json()["count"])


def sink_recipients(directory: Path, prefix: str) -> Counter[str]:
    """The envelope recipients starting with ``prefix`` of every message the SMTP sink stored, counted: read from
    the ``X-Sink-Recipients`` line of each file (the HTTP listing parses every message, too slow for 20,000)."""
    found: Counter[str] = Counter()
    for path in directory.glob("*.eml"):
        with path.open("rb") as message:
            for line in itertools.islice(message, 4):
                if line.startswith(b"X-Sink-Recipients:"):
                    recipients = line.split(b":", 1)[1].decode().strip().split(", ")
                    found.update(recipient for recipient in recipients if recipient.startswith(prefix))
    return found


async def kill_holder_past(stack: Stack, database: asyncpg.Connection, broadcast_id: uuid.UUID, point: int) -> str:
    """Once the broadcast's checkpoint has passed ``point`` subscribers, SIGKILL the gateway holding its lease a
    random moment later and start it again; the instance killed."""
    found: dict[str, str] = {}

    async def passed() -> bool:
        row = await database.fetchrow(_BROADCAST, broadcast_id)
        instance = holder(stack, row["lease_owner"])
        if row["recipients"] >= point and instance is not None:
            found["instance"] = instance
            return True
        assert row["state"] == "fanning_out", f"the broadcast was {row['state']} before the kill past {point}"
        return False

    await eventually(passed, f"the fan-out passing {point} subscribers")
    await asyncio.sleep(random.uniform(0, 0.4))
    instance = found["instance"]
    await stack.kill_service(instance)
    await stack.start_service("gateway", instance=instance, wait=False)
    return instance


@pytest.mark.usefixtures("templates")
async def test_fan_out_killed_three_times_reaches_every_subscriber_once(chaos: Chaos, templates: str) -> None:
    stack = chaos.stack
    original = dict(stack.processes["gateway"].overrides)
    await stack.stop_service("gateway")
    await stack.start_service("gateway", environment={**original, **FAN_OUT_SETTINGS})
    await stack.start_service(
        "gateway", instance="gateway_2", environment={"GATEWAY_PORT": str(free_port()), **FAN_OUT_SETTINGS}
    )
    database = await asyncpg.connect(plain_url(stack.environment["NOTIFICATIONS_DATABASE_URL"]))
    try:
        key = unique("chaos-topic")
        created = await chaos.api.http.post("/v1/topics", json={"key": key, "name": "chaos"})
        assert created.status_code == 201, created.text
        users_database = plain_url(stack.environment["USER_SVC_DATABASE_URL"])
        users = await seed_users(SUBSCRIBERS, key, users_database)
        await subscribe_all(key, users, users_database)
        before = await mail_count(chaos)

        sent = await chaos.api.send(to={"topic": key}, channel="email", template=templates, variables={"n": 8})
        assert sent.status_code == 202, sent.text
        broadcast_id = uuid.UUID(sent.json()["broadcast_id"])
        points = sorted(random.sample(range(500, SUBSCRIBERS - 2000, 250), KILLS))
        killed = [await kill_holder_past(stack, database, broadcast_id, point) for point in points]

        async def done() -> bool:
            return (await database.fetchrow(_BROADCAST, broadcast_id))["state"] == "done"

        await eventually(done, "the broadcast being done", DELIVERY_SECONDS)

        async def all_mail() -> bool:
            return await mail_count(chaos) >= before + SUBSCRIBERS

        await eventually(all_mail, f"{SUBSCRIBERS} emails", DELIVERY_SECONDS)
        await asyncio.sleep(3)  # a duplicate would come now, after a republish
        received = sink_recipients(Path(stack.environment["SMTP_SINK_DIR"]), f"{key}-")
        expected = {f"{key}-{n}@bench.example.com" for n in range(1, SUBSCRIBERS + 1)}
        counted = Tally(
            "8 the fan-out's gateway SIGKILLed x3",
            accepted=SUBSCRIBERS,
            delivered=len(received),
            lost=sorted(expected - set(received)),
            duplicates={address: n - 1 for address, n in received.items() if n > 1},
            notes=[f"killed {killed} past {points} subscribers (lease 2 s)"],
        )
        RESULTS.append(counted)
        assert counted.lost == [], f"{len(counted.lost)} subscribers got nothing"
        assert counted.duplicates == {}
        assert set(received) == expected

        await all_ready(stack)
        found = (await chaos.api.http.get(f"/v1/broadcasts/{broadcast_id}")).json()
        assert (found["state"], found["recipients"]) == ("done", SUBSCRIBERS), found
    finally:
        await database.close()
        await stack.stop_service("gateway_2")
        await stack.stop_service("gateway")
        await stack.start_service("gateway", environment=original)
