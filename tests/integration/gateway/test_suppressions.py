"""/v1/suppressions on a real gateway and database: an operator suppresses an address by hand and the next
send to it is skipped, removes it and mail flows again; pages, filters, another application's rows unseen,
and the errors a client branches on."""

from __future__ import annotations

import base64
import struct
import uuid
from typing import Any

import pytest

from tests.integration.gateway.harness import Gateway, create_user, unique_email
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body

pytestmark = pytest.mark.usefixtures("templates")


async def suppress(gateway: Gateway, address: str, expected: int = 201) -> dict[str, Any]:
    response = await gateway.client.post("/v1/suppressions", json={"address": address, "reason": "manual"})
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()
    return body


async def send_status(gateway: Gateway, user: dict[str, Any]) -> tuple[str, str | None]:
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    assert response.status_code == 202, response.text
    return response.json()["status"], response.json()["reason"]


async def test_a_suppressed_address_is_skipped_until_it_is_removed(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    added = await suppress(gateway, user["email"].upper())
    assert added["address"] == user["email"].lower()
    assert (added["channel"], added["reason"], added["notification_id"]) == ("email", "manual", None)
    assert await suppress(gateway, user["email"], expected=200) == added

    assert await send_status(gateway, user) == ("skipped", "suppressed")

    removed = await gateway.client.delete(f"/v1/suppressions/{user['email'].upper()}")
    assert removed.status_code == 204
    assert await send_status(gateway, user) == ("queued", None)
    assert_problem(await gateway.client.delete(f"/v1/suppressions/{user['email']}"), 404)


async def test_the_list_pages_newest_first_and_filters_by_reason(gateway: Gateway) -> None:
    addresses = [unique_email() for _ in range(3)]
    for address in addresses:
        await suppress(gateway, address)
    bounced = unique_email()
    await gateway.resources.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason) SELECT id, $1, 'hard_bounce'"
        " FROM applications WHERE name = 'default'",
        bounced,
    )

    first = (await gateway.client.get("/v1/suppressions", params={"reason": "manual", "limit": 2})).json()
    second = (
        await gateway.client.get(
            "/v1/suppressions", params={"reason": "manual", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    listed = [item["address"] for item in first["items"] + second["items"]]
    assert listed[:3] == list(reversed(addresses))
    assert bounced not in listed
    hard = (await gateway.client.get("/v1/suppressions", params={"reason": "hard_bounce", "limit": 100})).json()
    assert bounced in [item["address"] for item in hard["items"]]
    push = (await gateway.client.get("/v1/suppressions", params={"channel": "push"})).json()
    assert push == {"items": [], "next_cursor": None}


async def test_another_applications_suppression_is_neither_listed_nor_removable(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    address = unique_email()
    await gateway.resources.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason) VALUES ($1, $2, 'manual')",
        other_application,
        address,
    )
    response = await gateway.client.get("/v1/suppressions", params={"limit": 100})
    assert response.status_code == 200, response.text
    page = response.json()
    assert address not in [item["address"] for item in page["items"]]
    assert_problem(await gateway.client.delete(f"/v1/suppressions/{address}"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "not an address", "reason": "manual"}, "address"),
        ({"address": "ada@example.com", "reason": "hard_bounce"}, "reason"),
        ({"address": "ada@example.com"}, "reason"),
    ],
)
async def test_a_bad_body_is_422_naming_the_field(gateway: Gateway, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(await gateway.client.post("/v1/suppressions", json=body), 422)
    assert field in {error["field"] for error in problem["errors"]}


async def test_a_foreign_cursor_is_422(gateway: Gateway) -> None:
    problem = assert_problem(await gateway.client.get("/v1/suppressions", params={"cursor": "bm9wZQ"}), 422)
    assert [error["field"] for error in problem["errors"]] == ["cursor"]


async def test_a_cursor_with_a_time_out_of_range_is_422(gateway: Gateway) -> None:
    forged = base64.urlsafe_b64encode(struct.pack(">q", 2**62) + b"a@example.com").rstrip(b"=").decode()
    problem = assert_problem(await gateway.client.get("/v1/suppressions", params={"cursor": forged}), 422)
    assert [error["field"] for error in problem["errors"]] == ["cursor"]
