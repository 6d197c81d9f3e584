"""Scenario 1: RabbitMQ's application stopped (``rabbitmqctl stop_app``) mid-load and started again.

While it is down the gateway answers sends with 503 (nothing accepted) and says ``rabbitmq`` on ``/ready``;
afterwards the gateway's publisher and the workers' consumers reconnect by themselves, every send the client
retried is accepted, and every accepted notification is delivered once. Services started while the broker is
down wait for it instead of exiting.
"""

from __future__ import annotations

from devstack.private_infra import PrivateInfra
from devstack.stack import Stack
from tests.chaos.scenario import (
    Chaos,
    eventually,
    readiness,
    restarted_under_load,
    second_instances_wait_while_down,
)

OUTAGE_SECONDS = 4.0


async def test_the_broker_restarted_mid_load_loses_nothing(chaos: Chaos, private: PrivateInfra) -> None:
    noticed: list[float] = []

    async def gateway_says_rabbitmq() -> bool:
        status, body = await readiness(chaos.stack.url("gateway"))
        return status == 503 and body["checks"]["rabbitmq"] == "down"  # type: ignore[index]

    async def while_down() -> None:
        noticed.append(await eventually(gateway_says_rabbitmq, "the gateway reporting rabbitmq on /ready", timeout=10))

    outage = await restarted_under_load(
        chaos,
        "1 RabbitMQ stop_app/start_app",
        private.rabbitmq.stop_app,
        private.rabbitmq.start_app,
        OUTAGE_SECONDS,
        while_down,
    )
    outage.counted.notes.append(f"/ready said rabbitmq {noticed[0]:.1f}s after stop_app returned")
    outage.assert_clean()


async def test_services_started_while_the_broker_is_down_wait_for_it(stack: Stack, private: PrivateInfra) -> None:
    waiting = dict.fromkeys(("gateway_2", "user_svc_2", "template_svc_2"), "waiting for RabbitMQ")
    await second_instances_wait_while_down(stack, private.rabbitmq.stop_app, private.rabbitmq.start_app, waiting)
