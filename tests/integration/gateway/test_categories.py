"""Categories on a real gateway, template_svc, user_svc and database (docs/api.md section 13): the routes, a
template's category, ``category_opt_out`` on every send path (single, batch, scheduled: the scheduler reads
the preferences again when due), transactional never skipped that way, and a complaint suppression blocking
only non-transactional email."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.integration.gateway.harness import Gateway, create_user
from tests.integration.gateway.test_batch import batch_body, to
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_scheduling import at, row, scheduled
from tests.integration.gateway.test_send import send_body

pytestmark = pytest.mark.usefixtures("templates")

NEWS_TEMPLATE = {"channel": "email", "subject": "News for {{ name }}", "body": "Read {{ link }}"}


@pytest.fixture
async def news(gateway: Gateway) -> str:
    """A fresh non-transactional category with an email template ``<key>`` in it; its key."""
    key = f"news-{uuid.uuid4().hex[:8]}"
    put = await gateway.client.put(f"/v1/categories/{key}", json={"name": "News", "transactional": False})
    assert put.status_code == 200, put.text
    created = await gateway.client.post("/v1/templates", json={"slug": key, "category": key, **NEWS_TEMPLATE})
    assert created.status_code == 201, created.text
    assert created.json()["category"] == key
    return key


async def opt_out(gateway: Gateway, user: dict[str, Any], category: str) -> None:
    response = await gateway.client.patch(
        f"/v1/users/{user['id']}/preferences", json={"categories": {category: {"email": False}}}
    )
    assert response.status_code == 200, response.text


async def outcome(gateway: Gateway, user: dict[str, Any], template: str) -> tuple[str, str | None]:
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user, template=template))
    assert response.status_code == 202, response.text
    return response.json()["status"], response.json()["reason"]


async def test_put_creates_then_replaces_and_get_lists_the_built_in_one(gateway: Gateway) -> None:
    key = f"offers-{uuid.uuid4().hex[:8]}"
    first = await gateway.client.put(f"/v1/categories/{key}", json={"name": "Offers"})
    second = await gateway.client.put(f"/v1/categories/{key}", json={"name": "Deals", "transactional": True})

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["name"], first.json()["transactional"]) == ("Offers", False)
    assert (second.json()["name"], second.json()["transactional"]) == ("Deals", True)
    assert second.json()["created_at"] == first.json()["created_at"]
    listed = {item["key"]: item for item in (await gateway.client.get("/v1/categories")).json()["items"]}
    assert listed[key] == second.json()
    assert listed["transactional"] == {
        "key": "transactional",
        "name": "Transactional",
        "transactional": True,
        "created_at": None,
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/categories/transactional", {"name": "Mine"}, "key"),
        ("/v1/categories/Bad%20Key", {"name": "x"}, "key"),
        ("/v1/categories/ok", {"name": ""}, "name"),
        ("/v1/categories/ok", {"name": "x", "extra": 1}, "extra"),
    ],
)
async def test_bad_categories_are_422(gateway: Gateway, path: str, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(await gateway.client.put(path, json=body), 422)
    assert any(field in error["field"] for error in problem["errors"]), problem


async def test_a_template_of_an_unknown_category_is_422_naming_it(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/templates", json={"slug": f"x-{uuid.uuid4().hex[:8]}", "category": "nope", **NEWS_TEMPLATE}
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "category"


async def test_an_opted_out_category_is_skipped_and_transactional_still_queued(gateway: Gateway, news: str) -> None:
    user = await create_user(gateway.client)
    assert await outcome(gateway, user, news) == ("queued", None)

    await opt_out(gateway, user, news)

    assert await outcome(gateway, user, news) == ("skipped", "category_opt_out")
    assert await outcome(gateway, user, "welcome") == ("queued", None)


async def test_a_batch_skips_only_the_recipients_who_opted_out(gateway: Gateway, news: str) -> None:
    reader, leaver = await create_user(gateway.client), await create_user(gateway.client)
    await opt_out(gateway, leaver, news)

    response = await gateway.client.post(
        "/v1/notifications/batch", json=batch_body(to(reader), to(leaver), template=news)
    )

    assert response.status_code == 202, response.text
    results = {item["user_id"]: (item["status"], item["reason"]) for item in response.json()["items"]}
    assert results == {reader["id"]: ("queued", None), leaver["id"]: ("skipped", "category_opt_out")}


async def test_a_scheduled_send_reads_the_preferences_again_when_due(gateway: Gateway, news: str) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, template=news, send_at=at(2).isoformat()))
    await opt_out(gateway, user, news)

    for _ in range(300):
        found = await row(gateway, answer["notification_id"])
        if found["status"] != "scheduled":
            break
        await asyncio.sleep(0.05)
    assert (found["status"], found["reason"]) == ("skipped", "category_opt_out")


async def test_a_complaint_blocks_non_transactional_email_only(gateway: Gateway, news: str) -> None:
    user = await create_user(gateway.client)
    await gateway.resources.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason) SELECT id, lower($1), 'complaint'"
        " FROM applications WHERE name = 'default'",
        user["email"],
    )

    assert await outcome(gateway, user, news) == ("skipped", "suppressed")
    assert await outcome(gateway, user, "welcome") == ("queued", None)
