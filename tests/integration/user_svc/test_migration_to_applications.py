"""Migration 0003 gives every existing user to the ``default`` application with nothing lost or changed, and
leaves no default behind: a user inserted without an application is refused."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.db import plain_url
from common.migrations import migrate
from tests.support.migrations import database_at, table_rows

HISTORY = "user_svc:migrations"
BEFORE_APPLICATIONS = "0002"
APPLICATIONS = "0003"
TABLES = {"users": "id", "preferences": "user_id", "devices": "user_id, token"}


@pytest.fixture(scope="module")
def url() -> str:
    """A database of its own next to the test session's users database, at the revision before applications."""
    return database_at(HISTORY, "USER_SVC_DATABASE_URL", BEFORE_APPLICATIONS, "before_applications")


async def populate(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        for n in range(3):
            user_id = uuid.uuid4()
            await connection.execute(
                "INSERT INTO users (id, name, email, locale, password_hash, token_version, pending_email)"
                " VALUES ($1, $2, $3, 'pt-BR', '$argon2id$hash', $4, $5)",
                user_id,
                f"User {n}",
                f"User{n}@Example.com",
                n,
                f"new{n}@example.com" if n else None,
            )
            await connection.execute(
                "INSERT INTO preferences (user_id, email, push) VALUES ($1, $2, $3)", user_id, n != 1, n != 2
            )
            for device in range(n + 1):
                await connection.execute(
                    "INSERT INTO devices (user_id, token, platform) VALUES ($1, $2, $3)",
                    user_id,
                    f"token-{n}-{device}",
                    ("android", "ios", "web")[device % 3],
                )
    finally:
        await connection.close()


async def insert_without_application(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(
            "INSERT INTO users (id, name, email, locale, password_hash) VALUES ($1, 'X', 'x@example.com', 'en', 'h')",
            uuid.uuid4(),
        )
    finally:
        await connection.close()


async def insert_in(url: str, application_id: uuid.UUID, email: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(
            "INSERT INTO users (id, application_id, name, email, locale, password_hash)"
            " VALUES ($1, $2, 'Y', $3, 'en', 'h')",
            uuid.uuid4(),
            application_id,
            email,
        )
    finally:
        await connection.close()


def test_existing_users_move_into_the_default_application_unchanged(url: str) -> None:
    asyncio.run(populate(url))
    before = asyncio.run(table_rows(url, TABLES))

    migrate(HISTORY, url, APPLICATIONS)  # later revisions add columns of their own

    after = asyncio.run(table_rows(url, TABLES))
    assert {user.pop("application_id") for user in after["users"]} == {DEFAULT_APPLICATION_ID}
    assert after == before
    assert [len(after[table]) for table in TABLES] == [3, 3, 6]

    with pytest.raises(asyncpg.NotNullViolationError):
        asyncio.run(insert_without_application(url))
    asyncio.run(insert_in(url, uuid.uuid4(), "user0@example.com"))  # the same email, in another application
    with pytest.raises(asyncpg.UniqueViolationError):
        asyncio.run(insert_in(url, DEFAULT_APPLICATION_ID, "USER0@example.com"))
