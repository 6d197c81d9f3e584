"""Scenario 3: Redis restarted mid-load (dev and CI Redis keep nothing on disk).

The gateway fails closed: it takes the rate limits and the idempotency claim in one Lua call, and without an
answer it cannot know whether a send is a repeat or over a limit, so every send answers 503 and nothing is
accepted while Redis is down (reads of statuses, users and templates keep working). Afterwards the idempotency
records are gone: a client repeating a send that was accepted before the restart gets a NEW notification.
Production runs Redis with AOF (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from tests.chaos.ledger import tally
from tests.chaos.scenario import all_ready, assert_accounted, readiness, start_load
from tests.e2e.api import Api, Mailbox, PushServer
from tests.support.private_infra import PrivateInfra
from tests.support.stack import Stack

OUTAGE_SECONDS = 4.0


async def test_redis_restarted_mid_load_fails_closed_and_loses_nothing(
    stack: Stack,
    api: Api,
    mailbox: Mailbox,
    push_server: PushServer,
    audience: list[dict[str, str]],
    private: PrivateInfra,
    tmp_path: Path,
) -> None:
    load = await start_load(stack, audience, tmp_path)
    target = audience[0]

    down = time.monotonic()
    await asyncio.to_thread(private.redis.stop)
    refused = await api.send(user_id=target["user_id"], channel="email", template=target["template"], variables={})
    status, body = await readiness(stack.url("gateway"))
    listed = await api.http.get("/v1/notifications", params={"limit": 1})
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(private.redis.start)
    up = time.monotonic()
    recovered = await all_ready(stack)

    result = await load.finish()
    counted = await tally("3 Redis restarted", api, mailbox, push_server, result.accepted, result)
    counted.notes.append(f"down {up - down:.1f}s; every service ready {recovered:.1f}s after the start")

    assert refused.status_code == 503, (refused.text, refused.headers)
    assert refused.headers["content-type"] == "application/problem+json"
    assert (status, body["checks"]["redis"]) == (503, "down")  # type: ignore[index]
    assert listed.status_code == 200, listed.text
    assert_accounted(result, counted)
    assert result.refused_between(down, up)[503] > 0, result.refused_between(down, up)


async def test_after_a_restart_the_edge_has_forgotten_idempotency_keys(
    api: Api, audience: list[dict[str, str]], private: PrivateInfra
) -> None:
    target = audience[1]
    body = {"user_id": target["user_id"], "channel": "email", "template": target["template"], "variables": {"n": 1}}
    key = {"Idempotency-Key": f"chaos-{uuid.uuid4()}"}
    first = await api.send(headers=key, **body)
    replayed = await api.send(headers=key, **body)

    await asyncio.to_thread(private.redis.stop)
    await asyncio.to_thread(private.redis.start)
    after = await api.send(headers=key, **body)  # on a pooled connection that Redis closed: sent again, not 503

    assert first.status_code == replayed.status_code == after.status_code == 202, after.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["notification_id"] == first.json()["notification_id"]
    assert "Idempotent-Replayed" not in after.headers
    assert after.json()["notification_id"] != first.json()["notification_id"]  # sent again: why production needs AOF
    for response in (first, after):
        await api.wait_for_status(response.json()["notification_id"], "delivered", timeout=30)
