"""Migration 0002 gives every existing template to the ``default`` application with nothing lost or changed,
and leaves no default behind: a template inserted without an application is refused."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.db import plain_url
from common.migrations import migrate
from tests.support.migrations import database_at, table_rows

HISTORY = "template_svc:migrations"
BEFORE_APPLICATIONS = "0001"
TABLES = {"templates": "id", "template_versions": "template_id, version"}
LOCALES = ("en", "pt-BR", "fr")


@pytest.fixture(scope="module")
def url() -> str:
    """A database of its own next to the test session's templates database, at the revision before applications."""
    return database_at(HISTORY, "TEMPLATE_SVC_DATABASE_URL", BEFORE_APPLICATIONS, "before_applications")


async def populate(url: str) -> None:
    connection = await asyncpg.connect(plain_url(url))
    try:
        for slug in ("welcome", "reset"):
            for channel in ("email", "push"):
                for locale in LOCALES:
                    async with connection.transaction():  # the active-version foreign key is checked at commit
                        template_id = await connection.fetchval(
                            "INSERT INTO templates (slug, channel, locale, active_version, latest_version)"
                            " VALUES ($1, $2, $3, 2, 3) RETURNING id",
                            slug,
                            channel,
                            locale,
                        )
                        for version in (1, 2, 3):
                            await connection.execute(
                                "INSERT INTO template_versions (template_id, version, subject, body, title, data)"
                                " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                                template_id,
                                version,
                                f"{slug} v{version}" if channel == "email" else "",
                                f"{{{{ name }}}} {locale} v{version}",
                                f"{slug} v{version}" if channel == "push" else "",
                                json.dumps({"v": str(version)} if channel == "push" else {}),
                            )
    finally:
        await connection.close()


async def insert_template(url: str, application_id: uuid.UUID | None) -> None:
    """A template ``welcome``/email/``en`` with its one version, in ``application_id`` (None: naming none)."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        async with connection.transaction():
            if application_id is None:
                template_id = await connection.fetchval(
                    "INSERT INTO templates (slug, channel, locale, active_version, latest_version)"
                    " VALUES ('welcome', 'email', 'en', 1, 1) RETURNING id"
                )
            else:
                template_id = await connection.fetchval(
                    "INSERT INTO templates (application_id, slug, channel, locale, active_version, latest_version)"
                    " VALUES ($1, 'welcome', 'email', 'en', 1, 1) RETURNING id",
                    application_id,
                )
            await connection.execute(
                "INSERT INTO template_versions (template_id, version, subject, body) VALUES ($1, 1, 's', 'b')",
                template_id,
            )
    finally:
        await connection.close()


def test_existing_templates_move_into_the_default_application_unchanged(url: str) -> None:
    asyncio.run(populate(url))
    before = asyncio.run(table_rows(url, TABLES))

    migrate(HISTORY, url, "0002")  # the revision under test; later ones add columns

    after = asyncio.run(table_rows(url, TABLES))
    assert {template.pop("application_id") for template in after["templates"]} == {DEFAULT_APPLICATION_ID}
    assert after == before
    assert [len(after[table]) for table in TABLES] == [12, 36]

    with pytest.raises(asyncpg.NotNullViolationError):
        asyncio.run(insert_template(url, None))
    asyncio.run(insert_template(url, uuid.uuid4()))  # the same slug, channel and locale, in another application
    with pytest.raises(asyncpg.UniqueViolationError):
        asyncio.run(insert_template(url, DEFAULT_APPLICATION_ID))
