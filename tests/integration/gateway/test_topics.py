"""Topics and their subscribers through the gateway to a real user_svc: the bodies, the paging, the errors a
client branches on, and another application's topic answering 404."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway, create_user
from tests.integration.gateway.test_edge import assert_problem


def new_key() -> str:
    """A key no other run has used (the default application's topics outlive a run)."""
    return f"news-{uuid.uuid4().hex[:12]}"


async def create_topic(gateway: Gateway, key: str, name: str = "News") -> dict[str, Any]:
    response = await gateway.client.post("/v1/topics", json={"key": key, "name": name})
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


async def subscribe(gateway: Gateway, key: str, user_ids: list[str]) -> dict[str, Any]:
    response = await gateway.client.post(f"/v1/topics/{key}/subscribers", json={"user_ids": user_ids})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_get_list_and_delete_a_topic(gateway: Gateway) -> None:
    key = new_key()
    created = await create_topic(gateway, key, "Release notes")
    assert created.keys() == {"key", "name", "subscribers", "created_at"}
    assert (created["key"], created["name"], created["subscribers"]) == (key, "Release notes", 0)

    user = await create_user(gateway.client)
    assert await subscribe(gateway, key, [user["id"]]) == {"added": 1}
    fetched = await gateway.client.get(f"/v1/topics/{key}")
    assert fetched.status_code == 200
    assert fetched.json() == {**created, "subscribers": 1}

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await gateway.client.get("/v1/topics", params=params)).json()
        seen += [topic["key"] for topic in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert key in seen
    assert seen == sorted(seen)

    deleted = await gateway.client.delete(f"/v1/topics/{key}")
    assert deleted.status_code == 204
    assert_problem(await gateway.client.get(f"/v1/topics/{key}"), 404)
    assert_problem(await gateway.client.delete(f"/v1/topics/{key}"), 404)
    assert (await gateway.client.get(f"/v1/users/{user['id']}")).status_code == 200


async def test_a_duplicate_key_is_409_and_a_bad_one_422(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    assert_problem(await gateway.client.post("/v1/topics", json={"key": key, "name": "Again"}), 409)

    bad = await gateway.client.post("/v1/topics", json={"key": "Not A Key", "name": ""})
    body = assert_problem(bad, 422)
    assert {error["field"] for error in body["errors"]} == {"key", "name"}
    assert_problem(await gateway.client.get("/v1/topics/Not%20A%20Key"), 422)


async def test_subscribers_are_added_listed_in_pages_and_removed(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    ids = [(await create_user(gateway.client))["id"] for _ in range(3)]

    assert await subscribe(gateway, key, ids[:2]) == {"added": 2}
    assert await subscribe(gateway, key, ids) == {"added": 1}

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await gateway.client.get(f"/v1/topics/{key}/subscribers", params=params)
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [item["user_id"] for item in seen] == sorted(ids)
    assert all(item.keys() == {"user_id", "subscribed_at"} and item["subscribed_at"] for item in seen)

    removed = await gateway.client.request(
        "DELETE", f"/v1/topics/{key}/subscribers", json={"user_ids": [ids[0], str(uuid.uuid4())]}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"removed": 1}
    assert (await gateway.client.get(f"/v1/topics/{key}")).json()["subscribers"] == 2


async def test_unknown_user_ids_are_422_naming_them_and_subscribe_nobody(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    user = await create_user(gateway.client)
    unknown = str(uuid.uuid4())

    response = await gateway.client.post(f"/v1/topics/{key}/subscribers", json={"user_ids": [user["id"], unknown]})

    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "user_ids.1", "message": f"{unknown} is no user of the application"}]
    assert (await gateway.client.get(f"/v1/topics/{key}")).json()["subscribers"] == 0
    for user_ids in ([], ["not-a-uuid"], [str(uuid.uuid4()) for _ in range(1001)]):
        assert_problem(await gateway.client.post(f"/v1/topics/{key}/subscribers", json={"user_ids": user_ids}), 422)


async def test_an_unknown_topic_is_404_on_every_route(gateway: Gateway) -> None:
    key = new_key()
    user = await create_user(gateway.client)
    body = {"user_ids": [user["id"]]}
    for method, path, json in (
        ("GET", f"/v1/topics/{key}", None),
        ("DELETE", f"/v1/topics/{key}", None),
        ("POST", f"/v1/topics/{key}/subscribers", body),
        ("DELETE", f"/v1/topics/{key}/subscribers", body),
        ("GET", f"/v1/topics/{key}/subscribers", None),
    ):
        problem = assert_problem(await gateway.client.request(method, path, json=json), 404)
        assert problem["type"] == "/problems/not-found"


async def test_another_applications_topic_is_404(gateway: Gateway, other_application: uuid.UUID) -> None:
    key = new_key()
    await create_topic(gateway, key)
    user = await create_user(gateway.client)
    await subscribe(gateway, key, [user["id"]])
    theirs = {"X-API-Key": ADMIN_API_KEY, "X-Application-Id": str(other_application)}

    assert_problem(await gateway.client.get(f"/v1/topics/{key}", headers=theirs), 404)
    assert_problem(await gateway.client.get(f"/v1/topics/{key}/subscribers", headers=theirs), 404)
    assert_problem(await gateway.client.delete(f"/v1/topics/{key}", headers=theirs), 404)
    assert (await gateway.client.get("/v1/topics", headers=theirs)).json() == {"items": [], "next_cursor": None}
    # Their own topic of the same key cannot take our user.
    created = await gateway.client.post("/v1/topics", json={"key": key, "name": "Theirs"}, headers=theirs)
    assert created.status_code == 201, created.text
    joining = await gateway.client.post(
        f"/v1/topics/{key}/subscribers", json={"user_ids": [user["id"]]}, headers=theirs
    )
    assert_problem(joining, 422)
    assert (await gateway.client.get(f"/v1/topics/{key}")).json()["subscribers"] == 1
