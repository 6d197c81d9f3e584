"""Mail that comes back, through the whole stack (issue 18 item 8): the email goes out with its VERP return path,
the dev SMTP sink answers it with a DSN or an ARF report at the inbound service, and what a client sees changes:
``bounced`` with its history, the address suppressed, the next send ``skipped`` (``suppressed``), and the
webhook events an endpoint subscribed to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.api import Api, Mailbox, unique
from tests.e2e.webhooks import Receiver, Webhooks, body, hook_path, of_type

REPORT_SECONDS = 20.0
"""The sink mails its report half a second after taking the message; inbound records it at once."""


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    name = unique("comeback")
    await api.create_template(slug=name, channel="email", subject="Hi {{ user.name }}", body="Hello")
    return name


@pytest.fixture
async def hooked(receiver: Receiver, webhooks: Webhooks) -> AsyncIterator[str]:
    """An endpoint at a fresh receiver path for the bounce and complaint events; its path."""
    path = hook_path("comeback")
    created = await webhooks.create(receiver.url(path), ["notification.bounced", "email.complained"])
    await receiver.trust(path, created["secret"])
    yield path
    await webhooks.delete(created["id"])


async def wait_until(api: Api, notification_id: str, status: str) -> dict[str, Any]:
    """Poll until the notification is ``status`` (through ``delivered``, which is final for the e2e helpers)."""
    deadline = asyncio.get_running_loop().time() + REPORT_SECONDS
    while (found := await api.status(notification_id))["status"] != status:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{notification_id} is {found}, not {status}: {await api.events(notification_id)}")
        await asyncio.sleep(0.1)
    return found


async def test_a_hard_bounce_makes_it_bounced_and_the_next_send_skipped(
    api: Api, mailbox: Mailbox, receiver: Receiver, hooked: str, slug: str
) -> None:
    user = await api.create_user(email=f"{unique('bounce')}@example.com")
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)

    [mail] = await mailbox.wait_for(user["email"])
    assert mail["mail_from"].startswith(f"b+{notification_id.replace('-', '')}.")
    assert mail["headers"]["From"] == "notifications@example.com"
    status = await wait_until(api, notification_id, "bounced")
    assert status["reason"] == "hard_bounce"
    assert status["last_error"].startswith("5.1.1 ")
    events = await api.events(notification_id)
    assert [event["status"] for event in events] == ["queued", "sending", "delivered", "bounced"]
    assert events[-1]["detail"]["dsn_status"] == "5.1.1"
    assert events[-1]["detail"]["dsn_action"] == "failed"

    ours = of_type("notification.bounced", notification_id)  # the endpoint also hears other tests' reports
    [delivery] = filter(ours, await receiver.wait_for(hooked, lambda found: any(map(ours, found))))
    assert body(delivery)["data"]["notification_id"] == notification_id
    assert body(delivery)["data"]["status"] == "bounced"

    again = await api.send(user_id=user["id"], channel="email", template=slug)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["reason"]) == ("skipped", "suppressed")


async def test_a_delay_warning_is_only_an_event(api: Api, mailbox: Mailbox, slug: str) -> None:
    user = await api.create_user(email=f"{unique('softbounce')}@example.com")
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)
    await mailbox.wait_for(user["email"])

    deadline = asyncio.get_running_loop().time() + REPORT_SECONDS
    while len(events := await api.events(notification_id)) < 4:
        assert asyncio.get_running_loop().time() < deadline, events
        await asyncio.sleep(0.1)
    assert [event["status"] for event in events] == ["queued", "sending", "delivered", "delivered"]
    assert events[-1]["detail"]["dsn_status"] == "4.2.2"
    assert (await api.status(notification_id))["status"] == "delivered"
    assert (await api.send(user_id=user["id"], channel="email", template=slug)).json()["status"] == "queued"


async def test_a_complaint_is_reported_and_transactional_mail_still_flows(
    api: Api, mailbox: Mailbox, receiver: Receiver, hooked: str, slug: str
) -> None:
    user = await api.create_user(email=f"{unique('complain')}@example.com")
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)

    ours = of_type("email.complained", notification_id)
    found = await receiver.wait_for(hooked, lambda found: any(map(ours, found)), timeout=REPORT_SECONDS)
    [delivery] = filter(ours, found)
    assert body(delivery)["data"] == {
        "address": user["email"],
        "user_id": user["id"],
        "notification_id": notification_id,
        "feedback_type": "abuse",
    }
    events = await api.events(notification_id)
    assert events[-1]["detail"] == {"complaint": "abuse"}
    # A complaint blocks only non-transactional mail, and this template is transactional (test_unsubscribe.py
    # shows a non-transactional send skipped).
    later = await api.send_queued(user_id=user["id"], channel="email", template=slug)
    assert (await api.wait_for_status(later))["status"] == "delivered"
