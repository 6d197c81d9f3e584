"""Per endpoint: a slow endpoint holds only its own cap of slots, a dead one trips its breaker, one failing for the
whole window is disabled and its deliveries stop."""

from __future__ import annotations

import asyncio
import statistics

import asyncpg

from tests.integration.webhook_worker.support import add_endpoint, add_event, eventually, final
from tests.support.webhook_receiver import WebhookReceiver

EVENTS = 24


async def test_a_slow_endpoint_does_not_delay_another(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    slow = await add_endpoint(pool, receiver.url("/slow/1/s"))
    fast = await add_endpoint(pool, receiver.url("/ok/f"))

    async with worker(concurrency=16, endpoint_concurrency=4, timeout_seconds=3.0, lease_seconds=30.0):
        for sequence in range(EVENTS):
            await add_event(pool, data=f'{{"sequence": {sequence}}}')
        fast_rows = await final(pool, fast["id"], EVENTS)
        slow_rows = await final(pool, slow["id"], EVENTS, timeout=20)

    def seconds_to_final(rows: list[asyncpg.Record]) -> list[float]:
        return [(row["updated_at"] - row["event_at"]).total_seconds() for row in rows]

    fast_latency, slow_latency = seconds_to_final(fast_rows), seconds_to_final(slow_rows)
    print(f"fast endpoint: median {statistics.median(fast_latency):.2f} s, max {max(fast_latency):.2f} s")
    print(f"slow endpoint: median {statistics.median(slow_latency):.2f} s, max {max(slow_latency):.2f} s")
    assert max(fast_latency) < 1.0
    assert max(slow_latency) >= EVENTS / 4 - 1  # four at a time, a second each
    in_flight_slow = max(
        sum(1 for other in receiver.at("/slow/1/s") if other.at <= request.at < other.at + 1)
        for request in receiver.at("/slow/1/s")
    )
    assert in_flight_slow <= 4


async def test_a_dead_endpoint_trips_its_breaker(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    dead = await add_endpoint(pool, receiver.url("/status/500/dead"))
    for _ in range(10):
        await add_event(pool)

    async with worker(breaker_threshold=3, breaker_pause_seconds=30.0, endpoint_concurrency=1, retry_schedule="0.1"):
        await eventually(lambda: pool.fetchval("SELECT sum(attempts) = 3 FROM webhook_deliveries"))
        await asyncio.sleep(1.0)  # ten rungs of the ladder: a closed breaker would have sent many more

    assert len(receiver.at("/status/500/dead")) == 3
    untried = await pool.fetch("SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND attempts = 0", dead["id"])
    assert len(untried) >= 7
    assert {row["status"] for row in untried} == {"pending"}


async def test_an_endpoint_failing_for_the_window_is_disabled(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    failing = await add_endpoint(pool, receiver.url("/status/500/failing"))
    healthy = await add_endpoint(pool, receiver.url("/ok/healthy"))
    await add_event(pool)

    async with worker(retry_schedule=",".join(["0.2"] * 30), disable_after_seconds=1.0):
        endpoint = await eventually(
            lambda: pool.fetchrow("SELECT * FROM webhook_endpoints WHERE id = $1 AND NOT enabled", failing["id"])
        )
        [stopped] = await final(pool, failing["id"])
        attempts_at_stop = len(receiver.at("/status/500/failing"))
        await add_event(pool)
        await final(pool, healthy["id"], 2)

    assert endpoint["disabled_reason"] == "every delivery failed for 1 s"
    assert endpoint["failing_since"] is not None
    assert (stopped["status"], stopped["last_error"]) == ("failed", "the endpoint is disabled")
    assert stopped["next_attempt_at"] is None
    assert 3 <= attempts_at_stop <= 10
    assert len(receiver.at("/status/500/failing")) == attempts_at_stop
    assert await pool.fetchval("SELECT failing_since FROM webhook_endpoints WHERE id = $1", healthy["id"]) is None


async def test_a_success_clears_failing_since(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/status/500/flaky"))
    await add_event(pool)

    async with worker(retry_schedule="0.5"):
        await eventually(
            lambda: pool.fetchval(
                "SELECT failing_since IS NOT NULL FROM webhook_endpoints WHERE id = $1", endpoint["id"]
            )
        )
        await pool.execute("UPDATE webhook_endpoints SET url = $2 WHERE id = $1", endpoint["id"], receiver.url("/ok/x"))
        [delivery] = await final(pool, endpoint["id"])

    assert delivery["status"] == "succeeded"
    assert await pool.fetchval("SELECT failing_since FROM webhook_endpoints WHERE id = $1", endpoint["id"]) is None
