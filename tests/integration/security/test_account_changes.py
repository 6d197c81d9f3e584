"""Finding 4 (issue 14): a user token changes its email or password only with the current password; a
password change revokes every token issued before it, on every gateway replica, within the documented bound;
and a user token's email change never tells whether the address is registered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from devstack.infra import Infra
from tests.integration.gateway.harness import create_user, unique_email
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.security.account_stack import (
    PASSWORD,
    AccountStack,
    another_gateway,
    login,
    running_account_stack,
)

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[AccountStack]:
    async with running_account_stack(infra, login_max_failures=3) as running:
        yield running


async def test_a_user_token_needs_the_current_password_for_email_and_password(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    own = await login(stack.gateway, user["email"])
    url = f"/v1/users/{user['id']}"

    for change in ({"password": NEW_PASSWORD}, {"email": unique_email()}):
        missing = assert_problem(await client.patch(url, json=change, headers=own), 422)
        assert [error["field"] for error in missing["errors"]] == ["current_password"]
        wrong = assert_problem(
            await client.patch(url, json={**change, "current_password": "not the password"}, headers=own), 403
        )
        assert "current_password" in wrong["detail"]
    renamed = await client.patch(url, json={"name": "Ada King"}, headers=own)  # other fields need nothing
    assert renamed.status_code == 200
    unchanged = await client.get(url)
    assert (unchanged.json()["email"], unchanged.json()["pending_email"]) == (user["email"], None)
    await login(stack.gateway, user["email"], PASSWORD)  # the password did not change

    changed = await client.patch(url, json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=own)
    assert changed.status_code == 200, changed.text
    await login(stack.gateway, user["email"], NEW_PASSWORD)


async def test_wrong_current_passwords_are_throttled_like_failed_logins(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    own = await login(stack.gateway, user["email"])
    guess = {"password": NEW_PASSWORD, "current_password": "a wrong guess"}
    for _ in range(3):
        assert_problem(await client.patch(f"/v1/users/{user['id']}", json=guess, headers=own), 403)
    throttled = await client.patch(f"/v1/users/{user['id']}", json={**guess, "current_password": PASSWORD}, headers=own)
    assert_problem(throttled, 429)
    assert int(throttled.headers["Retry-After"]) >= 1


async def test_an_application_changes_email_and_password_without_it(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    email = unique_email()
    changed = await client.patch(f"/v1/users/{user['id']}", json={"email": email, "password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == email
    await login(stack.gateway, email, NEW_PASSWORD)


async def test_a_password_change_revokes_every_earlier_token_on_every_replica(
    stack: AccountStack, infra: Infra
) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    url = f"/v1/users/{user['id']}"
    phone = await login(stack.gateway, user["email"])
    laptop = await login(stack.gateway, user["email"])
    async with another_gateway(infra, stack, profile_cache_seconds=60) as replica:
        assert (await replica.client.get(url, headers=laptop)).status_code == 200  # its profile is cached now

        changed = await client.patch(url, json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=phone)
        assert changed.status_code == 200, changed.text

        for token in (phone, laptop):
            revoked = await client.get(url, headers=token)
            assert_problem(revoked, 401)
        started = time.monotonic()
        while (await replica.client.get(url, headers=laptop)).status_code != 401:  # told by UserChanged
            assert time.monotonic() - started < 5, "the replica kept accepting a revoked token"
            await asyncio.sleep(0.05)

        fresh = await login(stack.gateway, user["email"], NEW_PASSWORD)
        assert (await client.get(url, headers=fresh)).status_code == 200
        assert (await replica.client.get(url, headers=fresh)).status_code == 200
        assert (await client.patch(url, json={"password": PASSWORD}, headers=fresh)).status_code == 422

        by_application = await client.patch(url, json={"password": PASSWORD})  # a reset by the application
        assert by_application.status_code == 200
        assert_problem(await client.get(url, headers=fresh), 401)


async def test_a_user_tokens_email_change_does_not_tell_whether_the_address_is_taken(stack: AccountStack) -> None:
    client = stack.gateway.client
    taken = (await create_user(client))["email"]
    user = await create_user(client)
    url = f"/v1/users/{user['id']}"
    own = await login(stack.gateway, user["email"])

    def outcome(response: Any, asked: str) -> tuple[int, dict[str, Any]]:
        body = response.json()
        assert body["pending_email"] == asked
        return response.status_code, {
            key: value for key, value in body.items() if key not in ("pending_email", "updated_at")
        }

    free = unique_email()
    answers = []
    for asked in (taken.upper(), free):
        response = await client.patch(url, json={"email": asked, "current_password": PASSWORD}, headers=own)
        answers.append(outcome(response, asked))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert answers[0][1]["email"] == user["email"]  # nothing changes until the application sets it
    await login(stack.gateway, user["email"])

    refused = await client.patch(url, json={"email": taken})  # the application learns it, its user does not
    assert_problem(refused, 409)
    confirmed = await client.patch(url, json={"email": free})
    assert confirmed.status_code == 200
    assert (confirmed.json()["email"], confirmed.json()["pending_email"]) == (free, None)
