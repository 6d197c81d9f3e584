"""Finding 9: a send whose work outlasts its idempotency claim's lifetime (here: waiting for the only pooled
database connection) keeps its key; a retry with the same key meanwhile is 409 "in flight", never a second
notification, and after the first answers, a retry replays it. A Redis that is full (``noeviction``, as
docs/operations.md asks) fails sends and logins closed: 503, nothing accepted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError

from devstack.infra import Infra
from devstack.private_infra import PrivateRedis
from devstack.stack import free_ports
from tests.integration.gateway.harness import (
    VARIABLES,
    Gateway,
    create_user,
    gateway_settings,
    running_gateway,
    upsert_templates,
)
from tests.support.template_service import running_template_service, template_service_settings
from tests.support.user_service import running_user_service, user_service_settings

CLAIM_SECONDS = 1


@pytest.fixture(scope="module")
async def gateway(infra: Infra) -> AsyncIterator[Gateway]:
    """A gateway whose in-flight claims live 1 s, with a single pooled database connection."""
    async with (
        running_user_service(user_service_settings(infra)) as users,
        running_template_service(template_service_settings(infra)) as templates,
    ):
        settings = gateway_settings(
            infra, users=users, templates=templates, idempotency_lock_seconds=CLAIM_SECONDS, db_pool_size=1
        )
        async with running_gateway(settings) as running:
            await upsert_templates(running.client)
            yield running


async def test_a_retry_while_the_first_request_outlasts_its_claim_is_in_flight_not_a_second_send(
    gateway: Gateway,
) -> None:
    user = await create_user(gateway.client)
    body = {"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES}
    headers = {"Idempotency-Key": f"slow-{uuid.uuid4()}"}

    async with gateway.resources.db.acquire():  # the send waits for the pool's only connection
        first = asyncio.create_task(gateway.client.post("/v1/notifications/send", json=body, headers=headers))
        await asyncio.sleep(CLAIM_SECONDS * 2.5)
        assert not first.done()
        retry = asyncio.create_task(gateway.client.post("/v1/notifications/send", json=body, headers=headers))
        await asyncio.sleep(0.3)
    first_answer, retry_answer = await asyncio.gather(first, retry)

    assert first_answer.status_code == 202, first_answer.text
    assert retry_answer.status_code == 409, retry_answer.text
    assert retry_answer.headers["retry-after"] == "1"
    assert "still being processed" in retry_answer.json()["detail"]

    await asyncio.sleep(CLAIM_SECONDS * 1.5)  # the stored response outlives the claim's lifetime
    replay = await gateway.client.post("/v1/notifications/send", json=body, headers=headers)
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["notification_id"] == first_answer.json()["notification_id"]

    listed = await gateway.client.get("/v1/notifications", params={"user_id": user["id"]})
    assert [item["notification_id"] for item in listed.json()["items"]] == [first_answer.json()["notification_id"]]


@pytest.fixture
async def full_redis(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a private Redis at its ``maxmemory`` with the ``noeviction`` policy operations.md asks for."""
    (port,) = free_ports(1)
    server = PrivateRedis(tmp_path / "redis", port)
    server.start()
    client = Redis.from_url(server.url)
    try:
        used = int((await client.info("memory"))["used_memory"])
        await client.config_set("maxmemory-policy", "noeviction")
        await client.config_set("maxmemory", str(used + 256 * 1024))
        for n in range(100):
            try:
                await client.set(f"ballast:{n}", b"x" * 64 * 1024)
            except OutOfMemoryError:
                break
        else:
            pytest.fail("Redis took 6 MiB past its maxmemory")
        # The refused SET's 64 KiB left the query buffer, counted in used memory: the limit goes below what is
        # used now, so no small write slips through that slack.
        used = int((await client.info("memory"))["used_memory"])
        await client.config_set("maxmemory", str(used - 128 * 1024))
        yield server.url
    finally:
        await client.aclose()
        server.stop()


async def test_a_full_redis_fails_sends_and_logins_closed_with_503(
    infra: Infra, gateway: Gateway, full_redis: str
) -> None:
    user = await create_user(gateway.client)
    settings = gateway.settings.model_copy(update={"redis_url": full_redis})
    async with running_gateway(settings) as starved:
        body = {"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES}
        for headers in ({"Idempotency-Key": f"full-{uuid.uuid4()}"}, {}):
            sent = await starved.client.post("/v1/notifications/send", json=body, headers=headers)
            assert sent.status_code == 503, sent.text
            assert sent.headers["content-type"] == "application/problem+json"
        login = await starved.client.post("/v1/auth/login", json={"email": user["email"], "password": "whatever"})
        assert login.status_code == 503, login.text
        assert (await starved.client.get(f"/v1/users/{user['id']}")).status_code == 200
    listed = await gateway.client.get("/v1/notifications", params={"user_id": user["id"]})
    assert listed.json()["items"] == []
