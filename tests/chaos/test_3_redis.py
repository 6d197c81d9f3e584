"""Scenario 3: Redis restarted mid-load (dev and CI Redis keep nothing on disk).

The gateway fails closed: it takes the rate limits and the idempotency claim in one Lua call, and without an
answer it cannot know whether a send is a repeat or over a limit, so every send answers 503 and nothing is
accepted while Redis is down (reads of statuses, users and templates keep working). Afterwards the idempotency
records are gone: a client repeating a send that was accepted before the restart gets a NEW notification.
Production runs Redis with AOF (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import httpx

from devstack.private_infra import PrivateInfra
from tests.chaos.scenario import Chaos, readiness, restarted_under_load
from tests.e2e.api import Api

OUTAGE_SECONDS = 4.0


@dataclass
class SeenWhileDown:
    """A send, the gateway's readiness and a read of statuses, made while Redis was down."""

    send: httpx.Response | None = None
    ready: tuple[int, dict[str, object]] = (0, {})
    listing: httpx.Response | None = None


async def test_redis_restarted_mid_load_fails_closed_and_loses_nothing(chaos: Chaos, private: PrivateInfra) -> None:
    target = chaos.audience[0]
    seen = SeenWhileDown()

    async def while_down() -> None:
        seen.send = await chaos.api.send(
            user_id=target["user_id"], channel="email", template=target["template"], variables={}
        )
        seen.ready = await readiness(chaos.stack.url("gateway"))
        seen.listing = await chaos.api.http.get("/v1/notifications", params={"limit": 1})

    outage = await restarted_under_load(
        chaos, "3 Redis restarted", private.redis.stop, private.redis.start, OUTAGE_SECONDS, while_down
    )

    assert seen.send is not None
    assert seen.listing is not None
    assert seen.send.status_code == 503, (seen.send.text, seen.send.headers)
    assert seen.send.headers["content-type"] == "application/problem+json"
    status, body = seen.ready
    assert (status, body["checks"]["redis"]) == (503, "down")  # type: ignore[index]
    assert seen.listing.status_code == 200, seen.listing.text
    outage.assert_clean()


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
