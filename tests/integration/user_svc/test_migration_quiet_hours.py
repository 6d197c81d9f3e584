"""Migration 0005_quiet_hours keeps every user's channels, leaves them in UTC without quiet hours, and from then
on the database refuses quiet hours with one end or two equal ones."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from common.db import plain_url
from common.migrations import migrate
from tests.support.migrations import database_at, fetch

HISTORY = "user_svc:migrations"
BEFORE_QUIET_HOURS = "0004_topics"


@pytest.fixture(scope="module")
def url() -> str:
    """A database of its own next to the test session's users database, at the revision before quiet hours."""
    return database_at(HISTORY, "USER_SVC_DATABASE_URL", BEFORE_QUIET_HOURS, "before_quiet_hours")


async def insert_user(url: str, *, email: bool, push: bool) -> uuid.UUID:
    user_id = uuid.uuid4()
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute(
            "INSERT INTO users (id, application_id, name, email, locale, password_hash)"
            " VALUES ($1, $2, 'Ada', $3, 'en', 'h')",
            user_id,
            uuid.uuid4(),
            f"{user_id}@example.com",
        )
        await connection.execute(
            "INSERT INTO preferences (user_id, email, push) VALUES ($1, $2, $3)", user_id, email, push
        )
    finally:
        await connection.close()
    return user_id


async def set_quiet_hours(url: str, user_id: uuid.UUID, start: str | None, end: str | None) -> None:
    await fetch(
        url,
        "UPDATE preferences SET quiet_start = $2::text::time, quiet_end = $3::text::time WHERE user_id = $1",
        user_id,
        start,
        end,
    )


def test_existing_preferences_stay_and_gain_utc_without_quiet_hours(url: str) -> None:
    first = asyncio.run(insert_user(url, email=True, push=False))
    second = asyncio.run(insert_user(url, email=False, push=True))

    migrate(HISTORY, url)

    rows = asyncio.run(
        fetch(url, "SELECT user_id, email, push, timezone, quiet_start, quiet_end FROM preferences ORDER BY email")
    )
    assert [tuple(row) for row in rows] == [
        (second, False, True, None, None, None),
        (first, True, False, None, None, None),
    ]
    asyncio.run(set_quiet_hours(url, first, "22:00", "07:00"))
    for start, end in (("22:00", None), (None, "07:00"), ("22:00", "22:00")):
        with pytest.raises(asyncpg.CheckViolationError):
            asyncio.run(set_quiet_hours(url, first, start, end))
