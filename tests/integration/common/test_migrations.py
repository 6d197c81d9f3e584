"""Every database's Alembic history runs up and down on a real PostgreSQL."""

import asyncio

import asyncpg
import pytest

from common.db import plain_url
from common.migrations import downgrade, migrate
from tests.support.migrations import empty_database

DATABASE_VARIABLES = {
    "user_svc:migrations": "USER_SVC_DATABASE_URL",
    "template_svc:migrations": "TEMPLATE_SVC_DATABASE_URL",
    "gateway:migrations": "NOTIFICATIONS_DATABASE_URL",
}


async def tables(url: str) -> set[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows} - {"alembic_version"}


@pytest.fixture(scope="module")
def notifications_url() -> str:
    """A new notifications database migrated to head."""
    url = empty_database("NOTIFICATIONS_DATABASE_URL", "migrations")
    migrate("gateway:migrations", url)
    return url


@pytest.mark.parametrize("history", DATABASE_VARIABLES)
def test_migrations_run_up_down_and_up_again(history: str) -> None:
    url = empty_database(DATABASE_VARIABLES[history], "up_down")
    migrate(history, url)
    created = asyncio.run(tables(url))
    downgrade(history, url)
    assert asyncio.run(tables(url)) == set()
    migrate(history, url)
    assert asyncio.run(tables(url)) == created


def test_the_notifications_database_has_the_design_tables(notifications_url: str) -> None:
    tables_made = asyncio.run(tables(notifications_url))
    assert {"notification_statuses", "notification_events", "email_suppressions"} <= tables_made


async def reloptions(url: str, table: str) -> set[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        found = await connection.fetchval("SELECT reloptions FROM pg_class WHERE relname = $1", table)
    finally:
        await connection.close()
    return set(found or [])


async def partition_names(url: str, table: str) -> list[str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass", table
        )
    finally:
        await connection.close()
    return [row["name"] for row in rows]


def test_notification_statuses_is_vacuumed_at_one_percent_dead_rows(notifications_url: str) -> None:
    names = asyncio.run(partition_names(notifications_url, "notification_statuses"))
    assert "notification_statuses_legacy" in names
    assert len(names) > 1
    for name in names:
        assert "autovacuum_vacuum_scale_factor=0.01" in asyncio.run(reloptions(notifications_url, name)), name
