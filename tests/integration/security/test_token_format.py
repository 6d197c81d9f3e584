"""Finding 5 (issue 14): user tokens get their release-2 format once (``sub``, ``app``, ``iss``, ``aud``, ``ver``,
``iat``, ``exp``), so no later deploy logs everyone out; a release-1 token (``sub``, ``iat``, ``exp``) keeps
working until it expires; a token with only part of the new claims, or meant for someone else, is 401."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.tokens import AUDIENCE, ISSUER
from devstack.infra import Infra
from tests.integration.gateway.harness import create_user
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.security.account_stack import PASSWORD, AccountStack, login, running_account_stack
from tests.support.user_service import JWT_SECRET


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[AccountStack]:
    async with running_account_stack(infra) as running:
        yield running


def bearer(claims: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": "", "Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


def release_2(user_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "app": str(DEFAULT_APPLICATION_ID),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "ver": 0,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


async def test_login_issues_the_release_2_claims(stack: AccountStack) -> None:
    user = await create_user(stack.gateway.client)
    headers = await login(stack.gateway, user["email"])
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert set(claims) == {"sub", "app", "iss", "aud", "ver", "iat", "exp"}
    assert (claims["sub"], claims["app"], claims["ver"]) == (user["id"], str(DEFAULT_APPLICATION_ID), 0)
    assert str(DEFAULT_APPLICATION_ID) == "00000000-0000-4000-8000-000000000001"  # fixed for ever
    assert (await stack.gateway.client.get(f"/v1/users/{user['id']}", headers=headers)).status_code == 200


async def test_a_release_1_token_works_until_it_expires_or_the_password_changes(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    url = f"/v1/users/{user['id']}"
    now = int(time.time())
    old = bearer({"sub": user["id"], "iat": now, "exp": now + 600})
    assert (await client.get(url, headers=old)).status_code == 200
    expired = bearer({"sub": user["id"], "iat": now - 700, "exp": now - 100})
    assert_problem(await client.get(url, headers=expired), 401)

    changed = await client.patch(
        url, json={"password": "a brand new passphrase", "current_password": PASSWORD}, headers=old
    )
    assert changed.status_code == 200, changed.text
    assert_problem(await client.get(url, headers=old), 401)


@pytest.mark.parametrize(
    "changes",
    [
        {"ver": None},
        {"app": None},
        {"iss": None},
        {"aud": None},
        {"iss": "someone-else"},
        {"aud": "another-service"},
        {"app": "not-an-application"},
        {"ver": 1},
        {"ver": -1},
        {"ver": "0"},
        {"ver": True},
    ],
    ids=repr,
)
async def test_a_token_with_part_of_the_claims_or_for_someone_else_is_401(
    stack: AccountStack, changes: dict[str, Any]
) -> None:
    user = await create_user(stack.gateway.client)
    url = f"/v1/users/{user['id']}"
    assert (await stack.gateway.client.get(url, headers=bearer(release_2(user["id"])))).status_code == 200
    assert_problem(await stack.gateway.client.get(url, headers=bearer(release_2(user["id"], **changes))), 401)


async def test_a_deleted_users_token_is_401(stack: AccountStack) -> None:
    client = stack.gateway.client
    user = await create_user(client)
    headers = await login(stack.gateway, user["email"])
    assert (await client.delete(f"/v1/users/{user['id']}", headers=headers)).status_code == 204
    assert_problem(await client.get(f"/v1/users/{user['id']}", headers=headers), 401)
