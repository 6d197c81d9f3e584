"""Test session set-up: every test talks to real servers, isolated from a running `make up` (docs/design.md §4):
the `test_*` databases, Redis database 15 and the RabbitMQ vhost `notifications_test`.

Each can be moved with a `TEST_`-prefixed variable (e.g. `TEST_REDIS_URL`), so two test runs on one machine
can keep out of each other's way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from devstack.infra import AmqpSession, Infra

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
for _name in ("DATABASE_URL", "APP_ENV", "INTERNAL_API_KEY", "RABBITMQ_QUEUE_TYPE"):
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


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    """A client of the test Redis database."""
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()
