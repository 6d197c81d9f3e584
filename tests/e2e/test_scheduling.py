"""A scheduled send through the whole stack: accepted as ``scheduled``, held until its ``send_at``, then
published by the gateway's scheduler and delivered by the email worker to the sink (docs/api.md
"Scheduling")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.api import Api, Mailbox, unique


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    name = unique("later")
    await api.create_template(slug=name, channel="email", subject="Later, {{ user.name }}", body="It is {{ when }}")
    return name


async def test_a_scheduled_email_is_delivered_after_its_send_at(api: Api, mailbox: Mailbox, slug: str) -> None:
    user = await api.create_user(name="Ada")
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)

    response = await api.send(
        user_id=user["id"], channel="email", template=slug, variables={"when": "now"}, send_at=send_at.isoformat()
    )

    assert response.status_code == 202, response.text
    sent = response.json()
    assert sent["status"] == "scheduled"
    assert await mailbox.messages(user["email"]) == []
    status = await api.wait_for_status(sent["notification_id"], "delivered")
    assert datetime.fromisoformat(status["send_at"]) == send_at
    assert datetime.fromisoformat(status["delivered_at"]) >= send_at
    [email] = await mailbox.wait_for(user["email"])
    assert email["subject"] == "Later, Ada"
    events = [event["status"] for event in await api.events(sent["notification_id"])]
    assert events == ["scheduled", "queued", "sending", "delivered"]
