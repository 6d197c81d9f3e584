"""Fixtures of the delivery tests (imported by the conftest of each delivery test package)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from devstack.infra import AmqpSession, Infra
from tests.integration.delivery.support import Gateway
from tests.support.smtp_sink import RunningSmtpSink, running_smtp_sink


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the migrated notifications test database."""
    connection = await asyncpg.connect(infra.database("NOTIFICATIONS_DATABASE_URL"))
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def gateway(db: asyncpg.Connection, amqp: AmqpSession) -> Gateway:
    """Rows and publishes as the gateway makes them (queues purged)."""
    return Gateway(db, amqp.publisher)


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[RunningSmtpSink]:
    """The dev SMTP sink on free ports."""
    async with running_smtp_sink(tmp_path / "mail") as running:
        yield running
