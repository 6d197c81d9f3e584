"""webhook_worker fixtures: a pool on the migrated notifications database with the webhook tables emptied, the
test endpoint, and a way to run the worker in this process with test settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from devstack.infra import Infra
from tests.support.webhook_receiver import WebhookReceiver, running_webhook_receiver
from webhook_worker.service import serve
from webhook_worker.settings import WebhookWorkerSettings

EMPTY_WEBHOOK_TABLES = "DELETE FROM webhook_outbox; DELETE FROM webhook_deliveries; DELETE FROM webhook_endpoints"

FAST = {
    "port": 0,
    "allow_private": True,
    "poll_seconds": 0.05,
    "retry_schedule": "0.2,0.2",
    "timeout_seconds": 2.0,
    "lease_seconds": 5.0,
    "maintenance_seconds": 0.2,
    "metrics_seconds": 0.2,
    "shutdown_grace_seconds": 1.0,
}


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the notifications test database, its webhook tables empty."""
    url = infra.database("NOTIFICATIONS_DATABASE_URL")
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as created:
        await created.execute(
            "DELETE FROM webhook_outbox; DELETE FROM webhook_deliveries; DELETE FROM webhook_endpoints"
        )
        yield created
        await created.execute(
            "DELETE FROM webhook_outbox; DELETE FROM webhook_deliveries; DELETE FROM webhook_endpoints"
        )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """The test endpoint on a free port."""
    async with running_webhook_receiver() as running:
        yield running


@pytest.fixture
def worker(infra: Infra) -> Callable[..., Any]:
    """``async with worker(**overrides):`` runs webhook_worker in this process with :data:`FAST` settings."""

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[WebhookWorkerSettings]:
        settings = WebhookWorkerSettings(
            database_url=infra.database("NOTIFICATIONS_DATABASE_URL"), **{**FAST, **overrides}
        )
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop))
        try:
            yield settings
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)

    return running
