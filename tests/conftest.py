"""Test session set-up: every test talks to real servers, isolated from a running `make up` (docs/design.md §4):
the `test_*` databases, Redis database 15 and the RabbitMQ vhost `notifications_test`.

Each can be moved with a `TEST_`-prefixed variable (e.g. `TEST_REDIS_URL`), so two test runs on one machine
can keep out of each other's way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from common.redis_client import RedisClient, redis_client
from devstack.infra import AmqpSession, Infra
from devstack.redis_cluster import RedisClusterNodes, running_redis_cluster

POSTGRES = "postgresql://postgres@127.0.0.1:5432"

TEST_ENVIRONMENT = {
    "USER_SVC_DATABASE_URL": f"{POSTGRES}/test_users",
    "TEMPLATE_SVC_DATABASE_URL": f"{POSTGRES}/test_templates",
    "NOTIFICATIONS_DATABASE_URL": f"{POSTGRES}/test_notifications",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/notifications_test",
}

for _name, _default in TEST_ENVIRONMENT.items():
    os.environ[_name] = os.environ.get(f"TEST_{_name}", _default)
for _name in ("DATABASE_URL", "APP_ENV", "INTERNAL_API_KEY", "RABBITMQ_QUEUE_TYPE", "RABBITMQ_URLS"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def infra() -> Infra:
    """The test infrastructure: database URLs (migrated on first use), Redis and RabbitMQ URLs."""
    return Infra.from_environment()


@pytest.fixture
async def amqp(infra: Infra) -> AsyncIterator[AmqpSession]:
    """A RabbitMQ connection on the test vhost with the topology declared and every queue purged."""
    async with infra.amqp_session() as session:
        yield session


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``redis_cluster`` that takes ``redis_url`` (or ``redis``) runs twice: on the test Redis
    database and on the private Redis Cluster."""
    if metafunc.definition.get_closest_marker("redis_cluster") and "redis_url" in metafunc.fixturenames:
        metafunc.parametrize("redis_url", ["redis", "redis_cluster"], indirect=True)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A private Redis Cluster of three masters on free ports, for the session (docs/operations.md)."""
    with running_redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, infra: Infra) -> str:
    """The URL of the Redis the test runs on: the test database, or the private cluster (``redis_cluster``
    marker). The cluster has only database 0 and is shared by the session: tests keep apart by key names."""
    if getattr(request, "param", "redis") == "redis_cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return infra.redis_url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[RedisClient]:
    """A client of the test Redis database (or of the private cluster, see :func:`redis_url`)."""
    client = redis_client(redis_url)
    yield client
    await client.aclose()
