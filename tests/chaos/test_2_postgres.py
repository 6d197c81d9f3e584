"""Scenario 2: PostgreSQL stopped (``pg_ctl stop -m fast``: every connection dropped) mid-load and started again.

While it is down the gateway answers sends with 503 (it cannot write the status row) and the workers keep each
outcome until they can write it; afterwards every pool reconnects by itself and every accepted notification is
delivered once. A gateway started while PostgreSQL is down waits for it instead of exiting.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.chaos.ledger import tally
from tests.chaos.scenario import all_ready, assert_accounted, log_says, start_load, start_second_instances
from tests.e2e.api import Api, Mailbox, PushServer
from tests.support.private_infra import PrivateInfra
from tests.support.stack import Stack

OUTAGE_SECONDS = 4.0


async def test_postgres_restarted_mid_load_loses_nothing(
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
    await asyncio.to_thread(private.postgres.stop)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(private.postgres.start)
    up = time.monotonic()
    recovered = await all_ready(stack)

    result = await load.finish()
    counted = await tally("2 PostgreSQL restarted", api, mailbox, push_server, result.accepted, result)
    counted.notes.append(f"down {up - down:.1f}s; every service ready {recovered:.1f}s after the start")

    assert_accounted(result, counted)
    assert result.refused_between(down, up)[503] > 0, result.refused_between(down, up)


async def test_a_gateway_started_while_postgres_is_down_waits_for_it(stack: Stack, private: PrivateInfra) -> None:
    await asyncio.to_thread(private.postgres.stop)
    try:
        extra = await start_second_instances(stack)
        await log_says(stack, "gateway_2", "waiting for PostgreSQL")
        await asyncio.sleep(2)
        for instance in extra:
            assert stack.processes[instance].running, f"{instance} exited while PostgreSQL was down"
    finally:
        await asyncio.to_thread(private.postgres.start)
    try:
        for instance in extra:
            await stack.wait_ready(instance, timeout=30)
    finally:
        for instance in extra:
            await stack.stop_service(instance)
    await all_ready(stack)
