"""``RABBITMQ_QUEUE_TYPE=classic`` end to end, in its own vhost (``<test vhost>_classic``: a queue cannot change
type in place): delivery, the retry ladder, the dead-letter queue and the replay all work on classic queues."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aio_pika
import httpx
import pytest

from common.amqp.topology import declare_topology
from devstack.infra import Infra
from devstack.stack import Stack
from tests.e2e.api import Api, Mailbox, gateway_client, unique
from tests.e2e.conftest import FEW_ATTEMPTS, tracked_stack
from tests.e2e.dlq import run_replay, wait_for_dead_letter

SERVICES = ["user_svc", "template_svc", "gateway", "email_worker", "smtp_sink"]


@pytest.fixture(scope="module")
async def classic_stack(
    request: pytest.FixtureRequest, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    classic = dataclasses.replace(infra, rabbitmq_url=f"{infra.rabbitmq_url}_classic")
    async with tracked_stack(
        request,
        classic,
        tmp_path_factory.mktemp("classic"),
        queue_type="classic",
        services=SERVICES,
        environment=FEW_ATTEMPTS,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def classic_api(classic_stack: Stack) -> AsyncIterator[Api]:
    async with gateway_client(classic_stack.url("gateway")) as http:
        yield Api(http)


@pytest.fixture(scope="module")
async def classic_mailbox(classic_stack: Stack) -> AsyncIterator[Mailbox]:
    async with httpx.AsyncClient(base_url=classic_stack.url("smtp_sink"), timeout=10) as http:
        yield Mailbox(http)


@pytest.fixture(scope="module")
async def slug(classic_api: Api) -> str:
    name = unique("classic")
    await classic_api.create_template(slug=name, channel="email", subject="Classic {{ n }}", body="body {{ n }}")
    return name


async def test_the_queues_are_classic(classic_stack: Stack) -> None:
    connection = await aio_pika.connect(classic_stack.environment["RABBITMQ_URL"])
    try:
        await declare_topology(await connection.channel(), "classic")  # the same declaration: accepted
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await declare_topology(await connection.channel(), "quorum")
    finally:
        await connection.close()


async def test_an_email_is_delivered_through_a_retry_on_classic_queues(
    classic_api: Api, classic_mailbox: Mailbox, slug: str
) -> None:
    user = await classic_api.create_user()
    await classic_mailbox.fail(user["email"], 451, times=1)

    notification_id = await classic_api.send_queued(
        user_id=user["id"], channel="email", template=slug, variables={"n": 1}
    )

    status = await classic_api.wait_for_status(notification_id, "delivered")
    assert status["attempts"] == 2
    [email] = await classic_mailbox.wait_for(user["email"])
    assert email["subject"] == "Classic 1"


async def test_a_dead_letter_on_classic_queues_is_replayed(
    classic_api: Api, classic_mailbox: Mailbox, classic_stack: Stack, slug: str
) -> None:
    user = await classic_api.create_user()
    await classic_mailbox.fail(user["email"], 451)
    notification_id = await classic_api.send_queued(
        user_id=user["id"], channel="email", template=slug, variables={"n": 2}
    )
    status = await classic_api.wait_for_status(notification_id, "failed")
    assert (status["reason"], status["attempts"]) == ("retries_exhausted", 3)
    dead = await wait_for_dead_letter(classic_api.http, notification_id)
    assert dead["reason"] == "retries_exhausted"

    await classic_mailbox.clear_failures()
    result = await run_replay(classic_stack.environment, "--id", notification_id)  # the table outlives stacks

    assert result.code == 0, result.output
    assert "replayed 1," in result.output
    assert (await classic_api.wait_for_status(notification_id, "delivered"))["attempts"] == 1
    assert len(await classic_mailbox.wait_for(user["email"])) == 1
