"""``GET /v1/me/notifications``: a user's own notifications with their rendered content while it is kept, for
the user's token only, in the token's application; and a login bound to an application."""

from __future__ import annotations

import uuid

import pytest

from devstack.infra import AmqpSession
from tests.integration.gateway.harness import DEFAULT_APPLICATION, Gateway, create_user
from tests.integration.gateway.rows import insert_queued
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body
from tests.integration.gateway.test_users import PASSWORD, login

pytestmark = pytest.mark.usefixtures("templates")


async def sent(gateway: Gateway, user: dict[str, object], **changes: object) -> str:
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user, **changes))
    assert response.status_code == 202, response.text
    notification_id: str = response.json()["notification_id"]
    return notification_id


async def test_a_user_reads_their_own_notifications_newest_first_with_content_while_kept(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client, name="Ada", locale="en", preferences={"email": True, "push": False})
    other = await create_user(gateway.client)
    first = await sent(gateway, user)
    skipped = await sent(gateway, user, channel="push")
    last = await sent(gateway, user, variables={"name": "Grace", "link": "https://example.com/x"})
    await sent(gateway, other)
    await gateway.resources.db.execute(  # as the content eraser leaves it
        "UPDATE notification_statuses SET envelope = NULL WHERE id = $1", uuid.UUID(first)
    )
    headers = await login(gateway, user["email"])

    page = await gateway.client.get("/v1/me/notifications", headers=headers)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [item["notification_id"] for item in items] == [last, skipped, first]
    assert page.json()["next_cursor"] is None
    assert items[0] | {"created_at": None, "updated_at": None} == {
        "notification_id": last,
        "channel": "email",
        "template": "welcome",
        "status": "queued",
        "subject": "Welcome, Ada",
        "title": None,
        "body": "Hello Grace, start at https://example.com/x (en)",
        "created_at": None,
        "updated_at": None,
    }
    assert (items[1]["status"], items[1]["subject"], items[1]["title"], items[1]["body"]) == (
        "skipped",
        None,
        None,
        None,
    )
    assert (items[2]["subject"], items[2]["body"]) == (None, None)  # content no longer kept

    one = (await gateway.client.get("/v1/me/notifications", params={"limit": 1}, headers=headers)).json()
    assert [item["notification_id"] for item in one["items"]] == [last]
    rest = await gateway.client.get(
        "/v1/me/notifications", params={"limit": 2, "cursor": one["next_cursor"]}, headers=headers
    )
    assert [item["notification_id"] for item in rest.json()["items"]] == [skipped, first]
    assert rest.json()["next_cursor"] is None


async def test_the_feed_holds_nothing_of_another_application(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    other_application = uuid.uuid4()
    await gateway.resources.db.execute(
        "INSERT INTO applications (id, name) VALUES ($1, 'feed-other')", other_application
    )
    await insert_queued(gateway.resources.store, user_id=uuid.UUID(user["id"]), application_id=other_application)
    headers = await login(gateway, user["email"])
    page = await gateway.client.get("/v1/me/notifications", headers=headers)
    assert page.json() == {"items": [], "next_cursor": None}


async def test_an_api_key_has_no_feed_and_a_bad_cursor_is_422(gateway: Gateway) -> None:
    body = assert_problem(await gateway.client.get("/v1/me/notifications"), 403)
    assert "user" in body["detail"]
    user = await create_user(gateway.client)
    headers = await login(gateway, user["email"])
    bad = assert_problem(await gateway.client.get("/v1/me/notifications?cursor=nope", headers=headers), 422)
    assert bad["errors"][0]["field"] == "cursor"
    assert_problem(await gateway.client.get("/v1/me/notifications", headers={"X-API-Key": ""}), 401)


async def test_login_names_its_application_and_defaults_to_the_default_one(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    response = await gateway.client.post(
        "/v1/auth/login",
        json={"email": user["email"], "password": PASSWORD, "application_id": DEFAULT_APPLICATION},
        headers={"X-API-Key": ""},
    )
    assert response.status_code == 200, response.text
    token = {"X-API-Key": "", "Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await gateway.client.get(f"/v1/users/{user['id']}", headers=token)).status_code == 200

    malformed = await gateway.client.post(
        "/v1/auth/login",
        json={"email": user["email"], "password": PASSWORD, "application_id": "default"},
        headers={"X-API-Key": ""},
    )
    assert assert_problem(malformed, 422)["errors"][0]["field"] == "application_id"


async def test_an_operator_reads_a_notifications_rendered_content_while_it_is_kept(gateway: Gateway) -> None:
    user = await create_user(gateway.client, name="Ada", locale="en", preferences={"email": True, "push": False})
    kept = await sent(gateway, user, variables={"name": "Grace", "link": "https://example.com/x"})
    skipped = await sent(gateway, user, channel="push")
    erased = await sent(gateway, user)
    await gateway.resources.db.execute(
        "UPDATE notification_statuses SET envelope = NULL WHERE id = $1", uuid.UUID(erased)
    )

    found = await gateway.client.get(f"/v1/notifications/{kept}/content")
    assert found.status_code == 200, found.text
    assert found.json() == {
        "notification_id": kept,
        "channel": "email",
        "kept": True,
        "subject": "Welcome, Ada",
        "title": None,
        "body": "Hello Grace, start at https://example.com/x (en)",
        "html_body": found.json()["html_body"],
    }
    for nothing in (skipped, erased):
        body = (await gateway.client.get(f"/v1/notifications/{nothing}/content")).json()
        assert (body["kept"], body["subject"], body["title"], body["body"], body["html_body"]) == (
            False,
            None,
            None,
            None,
            None,
        )
    assert_problem(await gateway.client.get(f"/v1/notifications/{uuid.uuid4()}/content"), 404)
    other_application = uuid.uuid4()
    await gateway.resources.db.execute(
        "INSERT INTO applications (id, name) VALUES ($1, 'content-other')", other_application
    )
    theirs, _ = await insert_queued(gateway.resources.store, application_id=other_application)
    assert_problem(await gateway.client.get(f"/v1/notifications/{theirs}/content"), 404)  # another application's
