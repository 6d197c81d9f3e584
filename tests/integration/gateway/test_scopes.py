"""Every scoped route refuses a key without its scope (403 ``scope-missing`` naming it) and lets one with only that
scope through; the operator's routes refuse every application's key. The routes and their scopes are the
contract's list, which tests/unit/gateway/test_route_scopes.py holds against the app's own declarations."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from common.applications import DEFAULT_APPLICATION_ID
from gateway.scopes import ALL_SCOPES
from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway
from tests.integration.gateway.test_edge import assert_problem
from tests.unit.gateway.test_route_scopes import EXPECTED

ADMIN = {"X-API-Key": ADMIN_API_KEY}
PARAMETERS = {"slug": "welcome", "version": "1", "token": "device-token", "name": "x"}
"""Path parameters that are not ids; ids are fresh UUIDs."""


def concrete(path: str) -> str:
    """``path`` with its parameters filled in."""
    return re.sub(r"\{(\w+)\}", lambda match: PARAMETERS.get(match.group(1), str(uuid.uuid4())), path)


async def key_with(gateway: Gateway, scopes: set[str]) -> dict[str, str]:
    response = await gateway.client.post(
        f"/v1/applications/{DEFAULT_APPLICATION_ID}/keys",
        json={"name": "scope test", "scopes": sorted(scopes)},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


@pytest.fixture(scope="module")
async def keys(gateway: Gateway) -> dict[str, dict[str, dict[str, str]]]:
    """For each scope a route needs: a key with every scope but it, and a key with it alone."""
    scopes = {str(scope) for scope in EXPECTED.values()}
    return {
        scope: {
            "without": await key_with(gateway, {str(s) for s in ALL_SCOPES} - {scope}),
            "only": await key_with(gateway, {scope}),
        }
        for scope in scopes
    }


async def call(gateway: Gateway, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return await gateway.client.request(method, concrete(path), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED), ids=[f"{m} {p}" for m, p in sorted(EXPECTED)])
async def test_a_key_without_the_routes_scope_is_refused_naming_it(
    gateway: Gateway, keys: dict[str, dict[str, dict[str, str]]], method: str, path: str
) -> None:
    scope = str(EXPECTED[(method, path)])
    refused = assert_problem(await call(gateway, method, path, keys[scope]["without"]), 403)
    assert refused["type"] == "/problems/scope-missing"
    assert refused["required_scope"] == scope
    allowed = await call(gateway, method, path, keys[scope]["only"])
    assert allowed.status_code not in (401, 403), allowed.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/applications"),
        ("GET", "/v1/applications"),
        ("GET", "/v1/applications/{application_id}"),
        ("GET", "/v1/applications/{application_id}/keys"),
    ],
)
async def test_the_operators_routes_refuse_an_application_key_with_every_scope(
    gateway: Gateway, keys: dict[str, dict[str, dict[str, str]]], method: str, path: str
) -> None:
    every_scope = await key_with(gateway, {str(scope) for scope in ALL_SCOPES})
    refused = assert_problem(
        await call(gateway, method, path.replace("{application_id}", str(DEFAULT_APPLICATION_ID)), every_scope), 403
    )
    assert refused["type"] == "/problems/forbidden"
