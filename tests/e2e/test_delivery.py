"""The happy paths through the whole stack: a user, templates, an email and a push, each delivered and read
back from the sink it went to; plus the send-time answers (skipped, unknown template, idempotent replay)."""

from __future__ import annotations

import pytest

from tests.e2e.api import Api, Mailbox, PushServer, unique


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    """An email and a push template with one slug, in English."""
    name = unique("welcome")
    await api.create_template(
        slug=name,
        channel="email",
        subject="Welcome, {{ name }}!",
        body="Hello {{ user.name }}, start here: {{ link }}",
        html_body='<p>Hello {{ user.name }}, <a href="{{ link }}">start here</a></p>',
    )
    await api.create_template(slug=name, channel="push", title="Hi {{ name }}", body="Tap to start", data={"k": "v"})
    return name


async def test_an_email_is_delivered_with_its_content_and_correlation_id(api: Api, mailbox: Mailbox, slug: str) -> None:
    user = await api.create_user(name="Ada Lovelace")
    request_id = unique("req")

    response = await api.send(
        headers={"X-Request-ID": request_id},
        user_id=user["id"],
        channel="email",
        template=slug,
        variables={"name": "Ada", "link": "https://example.com/start"},
    )

    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    sent = response.json()
    assert sent["status"] == "queued"
    assert sent["status_url"] == f"/v1/notifications/{sent['notification_id']}"
    status = await api.wait_for_status(sent["notification_id"], "delivered")
    assert status["attempts"] == 1
    assert status["delivered_at"] is not None
    [email] = await mailbox.wait_for(user["email"])
    assert email["subject"] == "Welcome, Ada!"
    assert email["recipients"] == [user["email"]]
    assert user["email"] in email["headers"]["To"]
    assert email["text"].strip() == "Hello Ada Lovelace, start here: https://example.com/start"
    assert 'href="https://example.com/start"' in email["html"]
    assert email["headers"]["X-Correlation-ID"] == request_id
    assert email["message_id"] == f"<{sent['notification_id']}@notifications.local>"


async def test_a_push_is_delivered_to_the_users_device(api: Api, push_server: PushServer, slug: str) -> None:
    user = await api.create_user()
    token = unique("device")
    await api.add_device(user["id"], token)

    notification_id = await api.send_queued(
        user_id=user["id"], channel="push", template=slug, variables={"name": "Ada"}, priority="high"
    )

    await api.wait_for_status(notification_id, "delivered")
    [record] = await push_server.wait_for(token)
    message = record["message"]
    assert message["token"] == token
    assert message["notification"] == {"title": "Hi Ada", "body": "Tap to start"}
    assert message["data"]["k"] == "v"
    assert message["android"]["priority"] == "high"


async def test_the_history_tells_each_step(api: Api, mailbox: Mailbox, slug: str) -> None:
    user = await api.create_user()
    notification_id = await api.send_queued(
        user_id=user["id"], channel="email", template=slug, variables={"name": "Ada", "link": "x"}
    )
    await api.wait_for_status(notification_id, "delivered")

    events = await api.events(notification_id)

    assert [event["status"] for event in events] == ["queued", "sending", "delivered"]
    assert [event["attempt"] for event in events] == [0, 1, 1]
    assert events[-1]["detail"]["smtp_code"] == 250
    assert events[-1]["detail"]["provider_message_id"] == f"<{notification_id}@notifications.local>"


async def test_an_opted_out_user_is_skipped(api: Api, slug: str) -> None:
    user = await api.create_user(preferences={"email": False, "push": True})

    response = await api.send(user_id=user["id"], channel="email", template=slug, variables={"name": "A", "link": "x"})

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "skipped"
    assert response.json()["reason"] == "channel_disabled"
    status = await api.status(response.json()["notification_id"])
    assert status["status"] == "skipped"
    assert status["reason"] == "channel_disabled"


async def test_a_push_to_a_user_without_devices_is_skipped(api: Api, slug: str) -> None:
    user = await api.create_user()

    response = await api.send(user_id=user["id"], channel="push", template=slug, variables={"name": "A"})

    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["reason"]) == ("skipped", "no_device")


async def test_an_unknown_template_is_404_with_a_problem_body(api: Api) -> None:
    user = await api.create_user()

    response = await api.send(user_id=user["id"], channel="email", template=unique("missing"), variables={})

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 404
    assert problem["request_id"] == response.headers["X-Request-ID"]


async def test_a_missing_variable_is_422_naming_it(api: Api, slug: str) -> None:
    user = await api.create_user()

    response = await api.send(user_id=user["id"], channel="email", template=slug, variables={"name": "Ada"})

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["variables.link"]


async def test_an_idempotent_replay_returns_the_first_answer_and_sends_once(
    api: Api, mailbox: Mailbox, slug: str
) -> None:
    user = await api.create_user()
    body = {"user_id": user["id"], "channel": "email", "template": slug, "variables": {"name": "A", "link": "x"}}
    key = {"Idempotency-Key": unique("key")}

    first = await api.send(headers=key, **body)
    again = await api.send(headers=key, **body)

    assert first.status_code == again.status_code == 202
    assert again.json()["notification_id"] == first.json()["notification_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    await api.wait_for_status(first.json()["notification_id"], "delivered")
    other = await api.send(headers=key, **{**body, "variables": {"name": "B", "link": "x"}})
    assert other.status_code == 409
    await mailbox.wait_for(user["email"])
    assert len(await mailbox.messages(user["email"])) == 1
