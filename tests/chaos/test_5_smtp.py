"""Scenario 5: the SMTP server (the dev sink) down mid-load, then up again.

Sends fail transiently, go to the retry ladder, and after ``EMAIL_WORKER_BREAKER_THRESHOLD`` failures in a row
the email worker's circuit breaker opens (``notification_circuit_breaker_state{channel="email"} == 2`` on its
``/metrics``) and defers sends without spending attempts; once the sink is back a probe succeeds, the breaker
closes (0) and every email arrives, once. In production the pause is 30 s and the outage may last minutes;
here ``EMAIL_WORKER_BREAKER_PAUSE_SECONDS=2`` and the retry scale (1/100) shorten it, the behaviour is the same.
"""

from __future__ import annotations

import asyncio
import time

from tests.chaos.scenario import Chaos, assert_accounted, eventually, metric

OUTAGE_SECONDS = 8.0
BREAKER = "notification_circuit_breaker_state"


async def test_the_smtp_server_down_mid_load_opens_and_closes_the_breaker_and_every_email_arrives(
    chaos: Chaos,
) -> None:
    stack = chaos.stack
    worker = stack.url("email_worker")
    retried_before = await metric(worker, "notifications_retried_total", channel="email")
    deferred_before = await metric(worker, "notifications_deferred_total", channel="email")
    load = await chaos.start_load()

    await stack.stop_service("smtp_sink")
    states = set()
    until = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < until:
        states.add(await metric(worker, BREAKER, channel="email"))
        await asyncio.sleep(0.1)
    await stack.start_service("smtp_sink")

    async def closed() -> bool:
        return await metric(worker, BREAKER, channel="email") == 0

    closed_after = await eventually(closed, "the breaker closing", timeout=30)
    result = await load.finish()
    counted = await chaos.tally("5 SMTP server down 8 s", result)
    retried = await metric(worker, "notifications_retried_total", channel="email") - retried_before
    deferred = await metric(worker, "notifications_deferred_total", channel="email") - deferred_before
    counted.notes.append(
        f"breaker states seen while down: {sorted(states)}; closed {closed_after:.1f}s after the sink returned; "
        f"{retried:.0f} retries, {deferred:.0f} sends deferred by the open breaker"
    )

    assert 2.0 in states, states
    assert retried > 0, retried
    assert deferred > 0, deferred
    assert_accounted(result, counted)
    assert not counted.failed, counted.failed
