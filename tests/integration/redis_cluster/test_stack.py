"""The stack on a Redis Cluster, end to end: user_svc, template_svc, the gateway and the email worker (with a
provider ceiling, kept in Redis) started as ``make up`` starts them, with ``REDIS_URL`` naming the private
three-master cluster (docs/operations.md, "Redis Cluster"). A send is delivered, its idempotent retry
replays, the recipient limit answers 429, and user_svc's profile cache and the send gate keep their keys in
the cluster.

The stack runs on the test vhost, so it lives outside tests/e2e: the e2e package's stack (on the same vhost)
is gone by the time this module runs, and no two stacks consume each other's messages."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.redis_client import RedisClient, redis_client
from devstack.infra import Infra
from devstack.redis_cluster import RedisClusterNodes
from devstack.stack import Stack
from gateway.redis_keys import idempotency_record, recipient_limiter
from tests.e2e.api import Api, Mailbox, gateway_client, unique
from tests.e2e.conftest import FEW_ATTEMPTS, tracked_stack
from user_svc.profile_cache import profile_key

pytestmark = pytest.mark.e2e

SERVICES = ["user_svc", "template_svc", "gateway", "email_worker", "smtp_sink"]
USER_LIMIT = 3
ON_THE_CLUSTER = {
    "RATE_LIMIT_USER_PER_MINUTE": str(USER_LIMIT),
    "EMAIL_WORKER_MAX_PER_SECOND": "200",  # the worker takes its provider ceiling from the cluster
}
DEFAULT_APPLICATION = str(DEFAULT_APPLICATION_ID)


@pytest.fixture(scope="module")
async def cluster_stack(
    request: pytest.FixtureRequest,
    infra: Infra,
    redis_cluster: RedisClusterNodes,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    on_cluster = dataclasses.replace(infra, redis_url=redis_cluster.url)
    async with tracked_stack(
        request,
        on_cluster,
        tmp_path_factory.mktemp("redis-cluster-stack"),
        services=SERVICES,
        environment=FEW_ATTEMPTS | ON_THE_CLUSTER,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def api(cluster_stack: Stack) -> AsyncIterator[Api]:
    async with gateway_client(cluster_stack.url("gateway")) as http:
        yield Api(http)


@pytest.fixture(scope="module")
async def mailbox(cluster_stack: Stack) -> AsyncIterator[Mailbox]:
    async with httpx.AsyncClient(base_url=cluster_stack.url("smtp_sink"), timeout=10) as http:
        yield Mailbox(http)


@pytest.fixture
async def cluster(redis_cluster: RedisClusterNodes) -> AsyncIterator[RedisClient]:
    client = redis_client(redis_cluster.url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    name = unique("cluster")
    await api.create_template(slug=name, channel="email", subject="Cluster {{ n }}", body="body {{ n }}")
    return name


async def test_the_gateway_and_the_worker_are_ready_on_the_cluster(cluster_stack: Stack) -> None:
    """Both check the cluster (the worker only because it has a provider ceiling to keep there)."""
    async with httpx.AsyncClient(timeout=10) as http:
        gateway = await http.get(f"{cluster_stack.url('gateway')}/ready")
        worker = await http.get(f"{cluster_stack.url('email_worker')}/ready")
    assert gateway.status_code == worker.status_code == 200, (gateway.text, worker.text)
    assert gateway.json()["checks"]["redis"] == "ok"
    assert worker.json()["checks"]["redis"] is True


async def test_a_send_is_delivered_once_and_its_retry_replays(
    api: Api, mailbox: Mailbox, cluster: RedisClient, slug: str
) -> None:
    user = await api.create_user()
    body = {"user_id": user["id"], "channel": "email", "template": slug, "variables": {"n": 1}}
    key = f"cluster-{uuid.uuid4()}"

    first = await api.send(headers={"Idempotency-Key": key}, **body)
    assert first.status_code == 202, first.text
    await api.wait_for_status(first.json()["notification_id"], "delivered")
    again = await api.send(headers={"Idempotency-Key": key}, **body)

    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    [email] = await mailbox.wait_for(user["email"])
    assert email["subject"] == "Cluster 1"
    assert await cluster.hget(idempotency_record(DEFAULT_APPLICATION, key), "r") == first.content
    assert await cluster.exists(profile_key(DEFAULT_APPLICATION_ID, uuid.UUID(user["id"]))) == 1  # user_svc's cache


async def test_the_recipient_limit_answers_429_from_the_cluster(api: Api, cluster: RedisClient, slug: str) -> None:
    user = await api.create_user()
    body = {"user_id": user["id"], "channel": "email", "template": slug, "variables": {"n": 2}}
    statuses = [(await api.send(**body)).status_code for _ in range(USER_LIMIT + 1)]
    assert statuses == [202] * USER_LIMIT + [429]
    assert await cluster.exists(recipient_limiter(DEFAULT_APPLICATION, user["id"])) == 1
