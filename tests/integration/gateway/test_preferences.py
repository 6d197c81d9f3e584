"""`PATCH /v1/users/{id}/preferences` as a JSON merge patch, next to the `PUT` of the channels."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import Gateway, create_user, unique_email
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_users import PASSWORD, login

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
NIGHT = {"start": "22:00", "end": "07:00"}
DEFAULTS = {"email": True, "push": True, "timezone": "UTC", "quiet_hours": None, "categories": {}}


async def patch(gateway: Gateway, user_id: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    """The preferences after a merge patch that must succeed."""
    response = await gateway.client.patch(
        f"/v1/users/{user_id}/preferences", json=body, headers={**MERGE_PATCH, **headers}
    )
    assert response.status_code == 200, response.text
    answered: dict[str, Any] = response.json()
    return answered


async def test_a_patch_sets_the_members_given_and_keeps_the_others(gateway: Gateway) -> None:
    user = await create_user(gateway.client)

    changed = await patch(gateway, user["id"], {"timezone": "Europe/Lisbon", "quiet_hours": NIGHT})
    again = await patch(gateway, user["id"], {"push": False})

    assert changed == {**DEFAULTS, "timezone": "Europe/Lisbon", "quiet_hours": NIGHT}
    assert again == {**changed, "push": False}
    assert (await gateway.client.get(f"/v1/users/{user['id']}")).json()["preferences"] == again


async def test_null_resets_a_member_to_its_default(gateway: Gateway) -> None:
    user = await create_user(gateway.client, preferences={"email": False, "push": False})
    await patch(gateway, user["id"], {"timezone": "Asia/Tokyo", "quiet_hours": NIGHT})

    reset = await patch(gateway, user["id"], {"timezone": None, "quiet_hours": None, "email": None})

    assert reset == {**DEFAULTS, "push": False}


async def test_an_empty_patch_changes_nothing(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    changed = await patch(gateway, user["id"], {"quiet_hours": NIGHT})

    assert await patch(gateway, user["id"], {}) == changed


async def test_plain_json_is_a_merge_patch_too(gateway: Gateway) -> None:
    user = await create_user(gateway.client)

    response = await gateway.client.patch(f"/v1/users/{user['id']}/preferences", json={"timezone": "Asia/Tokyo"})

    assert response.status_code == 200
    assert response.json()["timezone"] == "Asia/Tokyo"


async def test_put_sets_the_channels_only_and_answers_with_everything(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    await patch(gateway, user["id"], {"timezone": "Asia/Tokyo", "quiet_hours": NIGHT})

    put = await gateway.client.put(f"/v1/users/{user['id']}/preferences", json={"email": False, "push": True})
    with_timezone = await gateway.client.put(
        f"/v1/users/{user['id']}/preferences", json={"email": False, "push": True, "timezone": "UTC"}
    )

    assert put.json() == {
        "email": False,
        "push": True,
        "timezone": "Asia/Tokyo",
        "quiet_hours": NIGHT,
        "categories": {},
    }
    assert assert_problem(with_timezone, 422)["errors"][0]["field"] == "timezone"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"timezone": "Mars/Olympus"}, ["timezone"]),
        ({"timezone": "europe/lisbon"}, ["timezone"]),
        ({"timezone": ""}, ["timezone"]),
        ({"quiet_hours": {"start": "7:00", "end": "24:00"}}, ["quiet_hours.start", "quiet_hours.end"]),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, ["quiet_hours.end"]),
        ({"quiet_hours": {"start": "22:00"}}, ["quiet_hours.end"]),
        ({"push": "false"}, ["push"]),
        ({"locale": "en"}, ["locale"]),
    ],
)
async def test_bad_members_are_422_naming_them_and_change_nothing(
    gateway: Gateway, body: dict[str, Any], fields: list[str]
) -> None:
    user = await create_user(gateway.client)

    response = await gateway.client.patch(f"/v1/users/{user['id']}/preferences", json=body, headers=MERGE_PATCH)

    assert [error["field"] for error in assert_problem(response, 422)["errors"]] == fields
    assert (await gateway.client.get(f"/v1/users/{user['id']}")).json()["preferences"] == DEFAULTS


async def test_a_user_token_patches_its_own_preferences_only(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    other = await create_user(gateway.client)
    own = await login(gateway, user["email"])

    assert (await patch(gateway, user["id"], {"quiet_hours": NIGHT}, **own))["quiet_hours"] == NIGHT
    refused = await gateway.client.patch(
        f"/v1/users/{other['id']}/preferences", json={"quiet_hours": NIGHT}, headers={**MERGE_PATCH, **own}
    )
    assert_problem(refused, 403)
    assert (await gateway.client.get(f"/v1/users/{other['id']}")).json()["preferences"] == DEFAULTS


async def test_an_unknown_user_is_404(gateway: Gateway) -> None:
    missing = "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10"
    for body in ({"timezone": "Asia/Tokyo"}, {}):
        response = await gateway.client.patch(f"/v1/users/{missing}/preferences", json=body, headers=MERGE_PATCH)
        assert_problem(response, 404)


async def test_another_applications_user_is_404_and_keeps_its_preferences(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    users = gateway.resources.backends.users
    in_other = str(other_application)
    theirs = await users.CreateUser(
        pb.CreateUserRequest(name="Ada", email=unique_email(), password=PASSWORD, application_id=in_other)
    )

    response = await gateway.client.patch(
        f"/v1/users/{theirs.user.id}/preferences", json={"timezone": "Asia/Tokyo"}, headers=MERGE_PATCH
    )

    assert_problem(response, 404)
    kept = await users.GetUser(pb.GetUserRequest(user_id=theirs.user.id, application_id=in_other))
    assert kept.user.preferences == pb.Preferences(email=True, push=True)


async def test_category_choices_merge_key_by_key_and_show_on_get(gateway: Gateway) -> None:
    user = await create_user(gateway.client)

    first = await patch(gateway, user["id"], {"categories": {"news": {"email": False}, "tips": {"push": False}}})
    second = await patch(gateway, user["id"], {"categories": {"news": {"push": False}, "tips": None}})
    back_on = await patch(gateway, user["id"], {"categories": {"news": {"email": None}}})
    got = await gateway.client.get(f"/v1/users/{user['id']}")

    assert first["categories"] == {"news": {"email": False, "push": True}, "tips": {"email": True, "push": False}}
    assert second["categories"] == {"news": {"email": False, "push": False}}
    assert back_on["categories"] == {"news": {"email": True, "push": False}}
    assert got.json()["preferences"]["categories"] == back_on["categories"]
    assert (back_on["email"], back_on["push"]) == (True, True)  # the channels themselves are untouched


@pytest.mark.parametrize(
    ("categories", "field"),
    [
        ({"transactional": {"email": False}}, "categories"),
        ({"Bad Key": {"email": False}}, "categories"),
        ({"news": {"email": "no"}}, "categories.news.email"),
        ({"news": {"sms": False}}, "categories.news.sms"),
        (None, "categories"),
    ],
)
async def test_bad_category_choices_are_422(gateway: Gateway, categories: Any, field: str) -> None:
    user = await create_user(gateway.client)

    response = await gateway.client.patch(
        f"/v1/users/{user['id']}/preferences",
        json={"categories": categories},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    assert any(error["field"].startswith(field) for error in assert_problem(response, 422)["errors"])
