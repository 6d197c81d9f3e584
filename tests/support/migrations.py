"""Databases at an earlier revision, for the tests that migrate a populated database: each next to the test
session's own database of that service, so two test runs on one server keep apart."""

from __future__ import annotations

import os
from typing import Any

import asyncpg

from common.db import plain_url
from common.migrations import downgrade, migrate


def database_at(history: str, variable: str, revision: str, suffix: str) -> str:
    """The URL of a database named after ``variable``'s with ``suffix``, emptied and migrated to ``revision``."""
    url = f"{os.environ[variable]}_{suffix}"
    migrate(history, url)
    downgrade(history, url)
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
