"""Users, preferences, devices and login through the gateway to a real user_svc, and user-token scoping."""

from __future__ import annotations

import uuid

from tests.integration.gateway.harness import Gateway, create_user, unique_email
from tests.integration.gateway.test_edge import assert_problem

PASSWORD = "correct horse battery"


async def login(gateway: Gateway, email: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a logged-in user."""
    response = await gateway.client.post(
        "/v1/auth/login", json={"email": email, "password": password}, headers={"X-API-Key": ""}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    return {"X-API-Key": "", "Authorization": f"Bearer {body['access_token']}"}


async def test_create_get_update_and_delete_a_user(gateway: Gateway) -> None:
    user = await create_user(gateway.client, locale="pt-BR", preferences={"email": True, "push": False})
    assert user["preferences"] == {
        "email": True,
        "push": False,
        "timezone": "UTC",
        "quiet_hours": None,
        "categories": {},
    }
    assert user["locale"] == "pt-BR"
    assert "password" not in user
    assert "password_hash" not in user
    assert user["devices"] == []

    fetched = await gateway.client.get(f"/v1/users/{user['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["email"] == user["email"]

    changed = await gateway.client.patch(f"/v1/users/{user['id']}", json={"name": "Ada King"})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Ada King"
    assert changed.json()["email"] == user["email"]

    deleted = await gateway.client.delete(f"/v1/users/{user['id']}")
    assert deleted.status_code == 204
    assert_problem(await gateway.client.get(f"/v1/users/{user['id']}"), 404)
    assert_problem(await gateway.client.delete(f"/v1/users/{user['id']}"), 404)


async def test_duplicate_email_is_409_and_bad_fields_are_422(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    duplicate = await gateway.client.post(
        "/v1/users", json={"name": "Other", "email": user["email"].upper(), "password": PASSWORD}
    )
    assert_problem(duplicate, 409)

    bad = await gateway.client.post("/v1/users", json={"name": "X", "email": "not-an-email", "password": "short"})
    body = assert_problem(bad, 422)
    assert {"email", "password"} <= {error["field"] for error in body["errors"]}


async def test_list_users_pages_with_a_cursor(gateway: Gateway) -> None:
    for _ in range(3):
        await create_user(gateway.client)
    first = await gateway.client.get("/v1/users", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    second = await gateway.client.get("/v1/users", params={"limit": 2, "cursor": page["next_cursor"]})
    assert second.status_code == 200
    assert {u["id"] for u in second.json()["items"]}.isdisjoint({u["id"] for u in page["items"]})
    assert_problem(await gateway.client.get("/v1/users", params={"limit": 0}), 422)


async def test_preferences_and_devices(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    prefs = await gateway.client.put(f"/v1/users/{user['id']}/preferences", json={"email": False, "push": True})
    assert prefs.status_code == 200
    assert prefs.json() == {"email": False, "push": True, "timezone": "UTC", "quiet_hours": None, "categories": {}}
    assert_problem(await gateway.client.put(f"/v1/users/{user['id']}/preferences", json={"email": False}), 422)
    for loose in (0, 1, "false", "yes", None):  # only JSON booleans: a 0 must not quietly mean "off"
        refused = await gateway.client.put(f"/v1/users/{user['id']}/preferences", json={"email": True, "push": loose})
        assert assert_problem(refused, 422)["errors"][0]["field"] == "push"

    device = await gateway.client.post(
        f"/v1/users/{user['id']}/devices", json={"token": "fcm:token-1", "platform": "ios"}
    )
    assert device.status_code == 201
    assert device.json()["token"] == "fcm:token-1"
    assert device.json()["platform"] == "ios"
    again = await gateway.client.post(
        f"/v1/users/{user['id']}/devices", json={"token": "fcm:token-1", "platform": "ios"}
    )
    assert again.status_code == 201
    bad_platform = await gateway.client.post(
        f"/v1/users/{user['id']}/devices", json={"token": "t", "platform": "symbian"}
    )
    assert_problem(bad_platform, 422)

    fetched = (await gateway.client.get(f"/v1/users/{user['id']}")).json()
    assert [d["token"] for d in fetched["devices"]] == ["fcm:token-1"]
    assert fetched["preferences"] == {
        "email": False,
        "push": True,
        "timezone": "UTC",
        "quiet_hours": None,
        "categories": {},
    }

    removed = await gateway.client.delete(f"/v1/users/{user['id']}/devices/fcm:token-1")
    assert removed.status_code == 204
    assert_problem(await gateway.client.delete(f"/v1/users/{user['id']}/devices/fcm:token-1"), 404)
    assert_problem(
        await gateway.client.post(f"/v1/users/{uuid.uuid4()}/devices", json={"token": "t", "platform": "web"}), 404
    )


async def test_login_gives_a_token_for_the_users_own_resources_only(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    other = await create_user(gateway.client)
    own = await login(gateway, user["email"])

    assert (await gateway.client.get(f"/v1/users/{user['id']}", headers=own)).status_code == 200
    patched = await gateway.client.patch(f"/v1/users/{user['id']}", json={"locale": "fr"}, headers=own)
    assert patched.status_code == 200
    prefs = await gateway.client.put(
        f"/v1/users/{user['id']}/preferences", json={"email": True, "push": False}, headers=own
    )
    assert prefs.status_code == 200
    device = await gateway.client.post(
        f"/v1/users/{user['id']}/devices", json={"token": "own-device", "platform": "web"}, headers=own
    )
    assert device.status_code == 201

    for method, path, body in [
        ("GET", f"/v1/users/{other['id']}", None),
        ("PATCH", f"/v1/users/{other['id']}", {"name": "x"}),
        ("DELETE", f"/v1/users/{other['id']}", None),
        ("PUT", f"/v1/users/{other['id']}/preferences", {"email": True, "push": True}),
        ("PATCH", f"/v1/users/{other['id']}/preferences", {"timezone": "Asia/Tokyo"}),
        ("POST", f"/v1/users/{other['id']}/devices", {"token": "t", "platform": "web"}),
        ("DELETE", f"/v1/users/{other['id']}/devices/t", None),
        ("GET", "/v1/users", None),
        ("POST", "/v1/users", {"name": "x", "email": unique_email(), "password": PASSWORD}),
        ("GET", f"/v1/notifications/{uuid.uuid4()}", None),
        ("GET", "/v1/templates", None),
        ("POST", "/v1/notifications/send", {"user_id": user["id"], "channel": "email", "template": "welcome"}),
    ]:
        response = await gateway.client.request(method, path, json=body, headers=own)
        assert_problem(response, 403)


async def test_wrong_credentials_are_401_without_a_hint_and_throttled_after_five(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    unknown = await gateway.client.post(
        "/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}, headers={"X-API-Key": ""}
    )
    wrong = await gateway.client.post(
        "/v1/auth/login", json={"email": user["email"], "password": "wrong password"}, headers={"X-API-Key": ""}
    )
    assert assert_problem(unknown, 401)["detail"] == assert_problem(wrong, 401)["detail"]

    for _ in range(4):
        await gateway.client.post(
            "/v1/auth/login", json={"email": user["email"], "password": "wrong again"}, headers={"X-API-Key": ""}
        )
    throttled = await gateway.client.post(
        "/v1/auth/login", json={"email": user["email"], "password": PASSWORD}, headers={"X-API-Key": ""}
    )
    assert_problem(throttled, 429)
    assert 0 < int(throttled.headers["retry-after"]) <= 900
