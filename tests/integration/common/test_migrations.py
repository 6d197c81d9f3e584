"""Every database's Alembic history runs up and down on a real PostgreSQL."""

import asyncio

import asyncpg
import pytest

from common.db import plain_url
from common.migrations import downgrade, migrate
from tests.conftest import POSTGRES

HISTORIES = ["user_svc:migrations", "template_svc:migrations", "gateway:migrations"]


async def tables(url: str) -> set[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows} - {"alembic_version"}


@pytest.mark.parametrize("history", HISTORIES)
def test_migrations_run_up_down_and_up_again(history: str) -> None:
    url = f"{POSTGRES}/test_migrations_{history.split(':')[0]}"
    migrate(history, url)
    created = asyncio.run(tables(url))
    downgrade(history, url)
    assert asyncio.run(tables(url)) == set()
    migrate(history, url)
    assert asyncio.run(tables(url)) == created


def test_the_notifications_database_has_the_design_tables() -> None:
    url = f"{POSTGRES}/test_migrations_gateway"
    migrate("gateway:migrations", url)
    assert {"notification_statuses", "notification_events", "email_suppressions"} <= asyncio.run(tables(url))


async def reloptions(url: str, table: str) -> set[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        found = await connection.fetchval("SELECT reloptions FROM pg_class WHERE relname = $1", table)
    finally:
        await connection.close()
    return set(found or [])


def test_notification_statuses_is_vacuumed_at_one_percent_dead_rows() -> None:
    url = f"{POSTGRES}/test_migrations_gateway"
    migrate("gateway:migrations", url)
    assert "autovacuum_vacuum_scale_factor=0.01" in asyncio.run(reloptions(url, "notification_statuses"))
