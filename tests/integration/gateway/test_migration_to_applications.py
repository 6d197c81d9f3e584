"""Migration 0005 gives every existing notification, its history and every suppression to the ``default``
application with nothing lost or changed, makes the ``default`` application, and leaves no default behind: a row
inserted without an application is refused."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.db import plain_url
from common.ids import new_notification_id
from common.migrations import migrate
from tests.support.migrations import database_at, fetch, table_rows

HISTORY = "gateway:migrations"
BEFORE_APPLICATIONS = "0004"
TABLES = {"notification_statuses": "id", "notification_events": "id", "email_suppressions": "address"}


@pytest.fixture(scope="module")
def url() -> str:
    """A database of its own next to the test session's notifications database, at the revision before
    applications."""
    return database_at(HISTORY, "NOTIFICATIONS_DATABASE_URL", BEFORE_APPLICATIONS, "before_applications")


async def populate(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        for n, status in enumerate(("queued", "delivered", "failed", "skipped")):
            notification_id = new_notification_id()
            await connection.fetch(
                "INSERT INTO notification_statuses (id, channel, user_id, template_slug, template_version,"
                " template_locale, status, reason, attempts, metadata, envelope)"
                " VALUES ($1, $2, $3, 'welcome', 2, 'pt-BR', $4, $5, $6, $7, $8)",
                notification_id,
                ("email", "push")[n % 2],
                uuid.uuid4(),
                status,
                "channel_disabled" if status == "skipped" else None,
                n,
                f'{{"campaign": "c{n}"}}',
                bytes([n]) * 16,
            )
            for attempt in range(n + 1):
                await connection.fetch(
                    "INSERT INTO notification_events (notification_id, status, attempt, detail)"
                    " VALUES ($1, $2, $3, $4)",
                    notification_id,
                    status,
                    attempt,
                    f'{{"attempt": {attempt}}}',
                )
        await connection.fetch(
            "INSERT INTO email_suppressions (address, reason) VALUES ('bounced@example.com', 'hard_bounce')"
        )
    finally:
        await connection.close()


def test_existing_notifications_and_suppressions_move_into_the_default_application_unchanged(url: str) -> None:
    asyncio.run(populate(url))
    before = asyncio.run(table_rows(url, TABLES))

    migrate(HISTORY, url)

    after = asyncio.run(table_rows(url, TABLES))
    for table in ("notification_statuses", "email_suppressions"):
        assert {row.pop("application_id") for row in after[table]} == {DEFAULT_APPLICATION_ID}
    assert {row.pop("batch_id") for row in after["notification_statuses"]} == {None}  # 0008: sent one by one
    for column in ("send_at", "render_input"):  # 0009: none was scheduled
        assert {row.pop(column) for row in after["notification_statuses"]} == {None}
    assert {row.pop("broadcast_id") for row in after["notification_statuses"]} == {None}  # 0010: not to topics
    assert after == before
    assert [len(after[table]) for table in TABLES] == [4, 10, 1]
    applications = asyncio.run(fetch(url, "SELECT id, name FROM applications"))
    assert [(row["id"], row["name"]) for row in applications] == [(DEFAULT_APPLICATION_ID, "default")]

    with pytest.raises(asyncpg.NotNullViolationError):
        asyncio.run(
            fetch(
                url,
                "INSERT INTO email_suppressions (address, reason) VALUES ('other@example.com', 'hard_bounce')",
            )
        )
    other = uuid.uuid4()
    asyncio.run(  # the same address suppressed in another application is another suppression
        fetch(
            url,
            "INSERT INTO email_suppressions (application_id, address, reason)"
            " VALUES ($1, 'bounced@example.com', 'manual')",
            other,
        )
    )
