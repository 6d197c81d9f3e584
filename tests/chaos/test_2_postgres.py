"""Scenario 2: PostgreSQL stopped (``pg_ctl stop -m fast``: every connection dropped) mid-load and started again.

While it is down the gateway answers sends with 503 (it cannot write the status row) and the workers keep each
outcome until they can write it; afterwards every pool reconnects by itself and every accepted notification is
delivered once. A gateway started while PostgreSQL is down waits for it instead of exiting.
"""

from __future__ import annotations

from devstack.private_infra import PrivateInfra
from devstack.stack import Stack
from tests.chaos.scenario import Chaos, restarted_under_load, second_instances_wait_while_down

OUTAGE_SECONDS = 4.0


async def test_postgres_restarted_mid_load_loses_nothing(chaos: Chaos, private: PrivateInfra) -> None:
    outage = await restarted_under_load(
        chaos, "2 PostgreSQL restarted", private.postgres.stop, private.postgres.start, OUTAGE_SECONDS
    )
    outage.assert_clean()


async def test_a_gateway_started_while_postgres_is_down_waits_for_it(stack: Stack, private: PrivateInfra) -> None:
    waiting = {"gateway_2": "waiting for PostgreSQL"}
    await second_instances_wait_while_down(stack, private.postgres.stop, private.postgres.start, waiting)
