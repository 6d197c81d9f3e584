"""Fixtures of the gateway's integration tests: a real user_svc and template_svc, and a gateway in front; for
the dead letter and stats tests, the email worker on an SMTP sink and the gateway's mover of failed.queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.dead_letter_mover import DeadLetterMover
from devstack.infra import AmqpSession, Infra
from tests.integration.delivery.support import running_worker, worker_settings
from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway, upsert_templates
from tests.support.smtp_sink import RunningSmtpSink, running_smtp_sink
from tests.support.template_service import RunningTemplateService, running_template_service, template_service_settings
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings


@pytest.fixture(scope="session")
async def user_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    async with running_user_service(user_service_settings(infra)) as service:
        yield service


@pytest.fixture(scope="session")
async def template_service(infra: Infra) -> AsyncIterator[RunningTemplateService]:
    async with running_template_service(template_service_settings(infra)) as service:
        yield service


@pytest.fixture(scope="session")
async def gateway(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
    )
    async with running_gateway(settings) as running:
        yield running


@pytest.fixture(scope="module", params=["redis", "redis_cluster"])
async def gateway_on_each_redis(request: pytest.FixtureRequest, gateway: Gateway) -> AsyncIterator[Gateway]:
    """The session's gateway, then one on the private Redis Cluster (same database, broker and backends): a test
    that takes this fixture runs on both."""
    if request.param == "redis":
        yield gateway
        return
    cluster_url = request.getfixturevalue("redis_cluster").url
    async with running_gateway(gateway.settings.model_copy(update={"redis_url": cluster_url})) as running:
        yield running


@pytest.fixture(scope="session")
async def templates(gateway: Gateway) -> None:
    """The email (en, pt) and push templates ``welcome`` that the send tests use."""
    await upsert_templates(gateway.client)


@pytest.fixture
async def other_application(gateway: Gateway) -> uuid.UUID:
    """A second application, as the key routes will make it."""
    application_id = uuid.uuid4()
    await gateway.resources.db.execute(
        "INSERT INTO applications (id, name) VALUES ($1, $2)", application_id, f"other-{application_id.hex[:8]}"
    )
    return application_id


@pytest.fixture
async def mover(gateway: Gateway, amqp: AmqpSession) -> AsyncIterator[DeadLetterMover]:
    """The gateway's mover of failed.queue into the table, on queues purged by ``amqp``."""
    running = DeadLetterMover(gateway.resources.amqp, gateway.resources.dead_letters)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[RunningSmtpSink]:
    async with running_smtp_sink(tmp_path / "mail") as running:
        yield running


@pytest.fixture
async def worker(sink: RunningSmtpSink, mover: DeadLetterMover) -> AsyncIterator[None]:
    async with running_worker(worker_settings(sink, max_attempts=2)):
        yield
