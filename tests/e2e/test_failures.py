"""Failures through the whole stack: a refused address ends ``failed`` with the reason and a dead letter
(moved by the gateway from ``failed.queue`` into ``/v1/dead-letters``); a temporary refusal is retried until it
goes through; and after a fix, the replay command (or the API) brings a dead letter back and it is
delivered."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.stack import Stack
from tests.e2e.api import Api, Mailbox, unique
from tests.e2e.dlq import ADMIN, dead_letters, run_replay, wait_for_dead_letter


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    name = unique("alert")
    await api.create_template(
        slug=name, channel="email", subject="Alert for {{ user.name }}", body="Something {{ what }}"
    )
    return name


async def test_a_refused_recipient_ends_failed_with_the_reason_and_a_dead_letter(
    api: Api, stack: Stack, slug: str
) -> None:
    user = await api.create_user(email=f"bounce-550+{unique('x')}@example.com")

    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"what": "!"})

    status = await api.wait_for_status(notification_id, "failed")
    assert status["reason"] == "smtp_550"
    assert status["last_error"].startswith("550 ")
    assert status["attempts"] == 1
    events = await api.events(notification_id)
    assert [event["status"] for event in events] == ["queued", "sending", "failed"]
    assert events[-1]["detail"]["smtp_code"] == 550
    dead = await wait_for_dead_letter(api.http, notification_id)
    assert (dead["reason"], dead["channel"], dead["attempts"]) == ("smtp_550", "email", 1)
    assert dead["headers"]["x-original-routing-key"] == "email"
    assert dead["envelope"]["notification_id"] == notification_id
    again = await api.send(user_id=user["id"], channel="email", template=slug, variables={"what": "!"})
    assert (again.json()["status"], again.json()["reason"]) == ("skipped", "suppressed")


async def test_a_temporary_refusal_is_retried_until_delivered(api: Api, mailbox: Mailbox, slug: str) -> None:
    user = await api.create_user()
    await mailbox.fail(user["email"], 451, times=2)

    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"what": "?"})

    status = await api.wait_for_status(notification_id, "delivered")
    assert status["attempts"] == 3
    events = await api.events(notification_id)
    assert [event["status"] for event in events] == [
        "queued",
        "sending",
        "retrying",
        "sending",
        "retrying",
        "sending",
        "delivered",
    ]
    assert events[2]["detail"]["smtp_code"] == 451
    assert len(await mailbox.wait_for(user["email"])) == 1


async def unsuppress(stack: Stack, address: str) -> None:
    """Lift a hard bounce's suppression, as docs/operations.md tells the operator before a replay."""
    connection = await asyncpg.connect(stack.environment["NOTIFICATIONS_DATABASE_URL"])
    try:
        await connection.execute("DELETE FROM email_suppressions WHERE address = $1", address)
    finally:
        await connection.close()


async def test_a_dead_letter_is_replayed_after_the_fix_and_delivered(
    api: Api, mailbox: Mailbox, stack: Stack, slug: str
) -> None:
    user = await api.create_user()
    await mailbox.fail(user["email"], 554)
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"what": "x"})
    await api.wait_for_status(notification_id, "failed")
    dead = await wait_for_dead_letter(api.http, notification_id)

    listing = await run_replay(stack.environment, "--dry-run", "--id", notification_id)
    assert listing.code == 0, listing.output
    assert f"listed   {dead['id']}  {notification_id}" in listing.output
    assert "smtp_554 after 1 attempt(s)" in listing.output
    assert (await api.status(notification_id))["status"] == "failed"

    await mailbox.clear_failures()
    await unsuppress(stack, user["email"])  # the hard bounce suppressed the address; the operator lifts it
    replayed = await run_replay(stack.environment, "--id", notification_id)

    assert replayed.code == 0, replayed.output
    assert "replayed 1, removed 0 (already delivered), kept 0" in replayed.output
    status = await api.wait_for_status(notification_id, "delivered")
    assert status["attempts"] == 1
    assert status["last_error"] is None
    [email] = await mailbox.wait_for(user["email"])
    assert email["message_id"] == f"<{notification_id}@notifications.local>"
    events = await api.events(notification_id)
    assert [event["status"] for event in events] == ["queued", "sending", "failed", "queued", "sending", "delivered"]
    assert events[3]["detail"] == {
        "replayed": True,
        "from": "failed.queue",
        "dead_letter_id": dead["id"],
        "previous_reason": "smtp_554",
        "previous_attempts": 1,
    }
    assert notification_id not in {letter["notification_id"] for letter in await dead_letters(api.http)}


async def test_the_api_replays_a_dead_letter_after_the_fix(api: Api, mailbox: Mailbox, stack: Stack, slug: str) -> None:
    user = await api.create_user()
    await mailbox.fail(user["email"], 554, times=1)
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"what": "y"})
    await api.wait_for_status(notification_id, "failed")
    dead = await wait_for_dead_letter(api.http, notification_id)
    await unsuppress(stack, user["email"])

    replayed = await api.http.post(f"/v1/dead-letters/{dead['id']}/replay")

    assert replayed.status_code == 202, replayed.text
    assert (await api.wait_for_status(notification_id, "delivered"))["attempts"] == 1
    assert len(await mailbox.wait_for(user["email"])) == 1
    assert (await api.http.get(f"/v1/dead-letters/{dead['id']}", headers=ADMIN)).status_code == 404


async def test_replaying_an_id_that_is_no_dead_letter_says_so(stack: Stack) -> None:
    missing = "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01"

    result = await run_replay(stack.environment, "--id", missing)

    assert result.code == 1
    assert f"no dead letter: {missing}" in result.output
