"""Migration 0011 renames release 1's RCPT refusal reasons (``smtp_550``) to ``hard_bounce``, keeps the three
reasons of the API as they are, and from then on the database refuses any other."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from common.migrations import migrate
from tests.support.migrations import database_at, fetch

HISTORY = "gateway:migrations"
APPLICATION = uuid.uuid4()


def test_old_reasons_become_hard_bounce_and_others_are_refused() -> None:
    url = database_at(HISTORY, "NOTIFICATIONS_DATABASE_URL", "0010", "before_suppression_reasons")
    for address, reason in [("a@example.com", "smtp_550"), ("b@example.com", "smtp_554"), ("c@example.com", "manual")]:
        asyncio.run(
            fetch(
                url,
                "INSERT INTO email_suppressions (application_id, address, reason) VALUES ($1, $2, $3)",
                APPLICATION,
                address,
                reason,
            )
        )

    migrate(HISTORY, url)

    rows = asyncio.run(fetch(url, "SELECT address, reason FROM email_suppressions ORDER BY address"))
    assert [(row["address"], row["reason"]) for row in rows] == [
        ("a@example.com", "hard_bounce"),
        ("b@example.com", "hard_bounce"),
        ("c@example.com", "manual"),
    ]
    with pytest.raises(asyncpg.CheckViolationError):
        asyncio.run(
            fetch(
                url,
                "INSERT INTO email_suppressions (application_id, address, reason) VALUES ($1, 'd@example.com', 'x')",
                APPLICATION,
            )
        )
