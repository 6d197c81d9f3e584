"""Databases at an earlier revision, for the tests that migrate a populated database: each next to the test
session's own database of that service, so two test runs on one server keep apart."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncpg

from common.db import plain_url, recreate_database
from common.migrations import migrate


def empty_database(variable: str, suffix: str) -> str:
    """The URL of a new, empty database named after ``variable``'s with ``suffix``: whatever an earlier run
    left in one of that name (a revision from another branch, say) cannot make a migration test fail."""
    url = f"{os.environ[variable]}_{suffix}"
    asyncio.run(recreate_database(url))
    return url


def database_at(history: str, variable: str, revision: str, suffix: str) -> str:
    """The URL of a new database named after ``variable``'s with ``suffix``, migrated to ``revision``."""
    url = empty_database(variable, suffix)
    migrate(history, url, revision)
    return url


async def fetch(url: str, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    """The rows of one statement on a connection of its own."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        return list(await connection.fetch(statement, *arguments))
    finally:
        await connection.close()


async def table_rows(url: str, tables: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of each table, ordered by the columns ``tables`` names for it."""
    return {
        table: [dict(row) for row in await fetch(url, f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608 - constants
        for table, order in tables.items()
    }
