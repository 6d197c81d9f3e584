"""Scenario 1: RabbitMQ's application stopped (``rabbitmqctl stop_app``) mid-load and started again.

While it is down the gateway answers sends with 503 (nothing accepted) and says ``rabbitmq`` on ``/ready``;
afterwards the gateway's publisher and the workers' consumers reconnect by themselves, every send the client
retried is accepted, and every accepted notification is delivered once. Services started while the broker is
down wait for it instead of exiting.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.chaos.ledger import tally
from tests.chaos.scenario import (
    all_ready,
    assert_accounted,
    eventually,
    log_says,
    readiness,
    start_load,
    start_second_instances,
)
from tests.e2e.api import Api, Mailbox, PushServer
from tests.support.private_infra import PrivateInfra
from tests.support.stack import Stack

OUTAGE_SECONDS = 4.0


async def test_the_broker_restarted_mid_load_loses_nothing(
    stack: Stack,
    api: Api,
    mailbox: Mailbox,
    push_server: PushServer,
    audience: list[dict[str, str]],
    private: PrivateInfra,
    tmp_path: Path,
) -> None:
    load = await start_load(stack, audience, tmp_path)

    down = time.monotonic()
    await asyncio.to_thread(private.rabbitmq.stop_app)
    stopped = time.monotonic() - down

    async def gateway_says_rabbitmq() -> bool:
        status, body = await readiness(stack.url("gateway"))
        return status == 503 and body["checks"]["rabbitmq"] == "down"  # type: ignore[index]

    noticed = await eventually(gateway_says_rabbitmq, "the gateway reporting rabbitmq on /ready", timeout=10)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(private.rabbitmq.start_app)
    up = time.monotonic()
    recovered = await all_ready(stack)

    result = await load.finish()
    counted = await tally("1 RabbitMQ stop_app/start_app", api, mailbox, push_server, result.accepted, result)
    counted.notes.append(
        f"down {up - down:.1f}s (stop_app took {stopped:.1f}s, /ready said rabbitmq {noticed:.1f}s later); "
        f"every service ready {recovered:.1f}s after start_app"
    )

    assert_accounted(result, counted)
    assert result.refused_between(down, up)[503] > 0, result.refused_between(down, up)


async def test_services_started_while_the_broker_is_down_wait_for_it(stack: Stack, private: PrivateInfra) -> None:
    await asyncio.to_thread(private.rabbitmq.stop_app)
    try:
        extra = await start_second_instances(stack)
        for instance in extra:
            await log_says(stack, instance, "waiting for RabbitMQ")
        await asyncio.sleep(2)
        for instance in extra:
            assert stack.processes[instance].running, f"{instance} exited while the broker was down"
    finally:
        await asyncio.to_thread(private.rabbitmq.start_app)
    try:
        for instance in extra:
            await stack.wait_ready(instance, timeout=30)
    finally:
        for instance in extra:
            await stack.stop_service(instance)
    await all_ready(stack)
