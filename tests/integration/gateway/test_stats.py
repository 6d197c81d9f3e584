"""GET /v1/stats on a real gateway, broker, Redis, email worker and SMTP sink: after some sends, the minute
counts show them accepted, delivered, failed and skipped; the queues are listed with their depths; the running
worker's breakers (its channel's and its relay's) are shown; the dead letters waiting are counted; an answer is
reused for a few seconds; a bad window is a 422."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from common.amqp.topology import FAILED_QUEUE
from tests.integration.gateway.harness import Gateway, create_user
from tests.integration.gateway.test_dead_letters import eventually, listed
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body
from tests.support.smtp_sink import RunningSmtpSink

pytestmark = pytest.mark.usefixtures("templates", "worker")


async def fresh_stats(gateway: Gateway, redis: Redis, **params: Any) -> dict[str, Any]:
    """The stats as counted now (the cached answer dropped first)."""
    async for key in redis.scan_iter("gw:stats:*"):
        await redis.delete(key)
    response = await gateway.client.get("/v1/stats", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


COUNTS = ("accepted", "delivered", "failed", "skipped")


async def email_since(gateway: Gateway, redis: Redis, since: str) -> dict[str, int]:
    """The email counts of the minutes from ``since`` on: unlike the hour's totals, they cannot shrink while the
    test runs as earlier runs' minutes leave the window."""
    counts = dict.fromkeys(COUNTS, 0)
    for minute in (await fresh_stats(gateway, redis))["minutes"]:
        if minute["minute"] >= since:
            for key in COUNTS:
                counts[key] += minute["channels"]["email"][key]
    return counts


async def test_sends_show_in_the_minutes_with_queues_breakers_and_dead_letters(
    gateway: Gateway, sink: RunningSmtpSink, redis: Redis
) -> None:
    first = await fresh_stats(gateway, redis)
    since = first["minutes"][-1]["minute"]
    before = await email_since(gateway, redis, since)
    waiting_before = first["dead_letters"]["waiting"]
    good, bad = await create_user(gateway.client), await create_user(gateway.client)
    await sink.fail(bad["email"], 550)
    sent = []
    for user in (good, good, bad):
        response = await gateway.client.post("/v1/notifications/send", json=send_body(user))
        sent.append(response.json()["notification_id"])
    await eventually(lambda: listed(gateway), lambda items: sent[2] in {item["notification_id"] for item in items})
    skipped = await gateway.client.post("/v1/notifications/send", json=send_body(bad))  # suppressed now
    assert skipped.json()["status"] == "skipped"

    expected = {"accepted": 4, "delivered": 2, "failed": 1, "skipped": 1}
    await eventually(
        lambda: email_since(gateway, redis, since),
        lambda found: {key: found[key] - before[key] for key in expected} == expected,
    )
    stats = await fresh_stats(gateway, redis, window="15m")
    assert stats["window"] == "15m"
    assert len(stats["minutes"]) in (15, 16)
    assert sum(minute["channels"]["email"]["delivered"] for minute in stats["minutes"]) >= 2
    assert {"email", "push"} == set(stats["minutes"][-1]["channels"])
    queues = {queue["name"]: queue for queue in stats["queues"]}
    assert {"email.queue", "push.queue", FAILED_QUEUE} <= set(queues)
    assert queues["email.queue"]["consumers"] >= 1
    breakers = {(breaker["worker"], breaker["name"]): breaker["state"] for breaker in stats["breakers"]}
    assert breakers[("email_worker-test", "email")] == "closed"
    assert any(name.startswith("smtp ") for _, name in breakers)
    assert stats["dead_letters"]["waiting"] == waiting_before + 1

    cached = (await gateway.client.get("/v1/stats")).json()
    await gateway.client.post("/v1/notifications/send", json=send_body(good))
    assert (await gateway.client.get("/v1/stats")).json()["totals"] == cached["totals"]
    assert cached["totals"]["email"]["accepted"] >= 4


async def test_a_window_that_is_not_one_is_refused(gateway: Gateway) -> None:
    for window in ("1d", "0m", "25h", "90"):
        assert_problem(await gateway.client.get("/v1/stats", params={"window": window}), 422)
