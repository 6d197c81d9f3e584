"""Control characters where they do not belong: NUL (which PostgreSQL text cannot store) and line breaks
(which would reach email headers) in names, device tokens, login emails and template parts. Each is a 422
naming the field (a login simply fails: 401), never the 503 of a database that refused the statement."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.fuzz.problems import assert_problem
from tests.integration.gateway.harness import create_user

CONTROL = {"NUL": "\x00", "CR LF": "\r\n", "LF": "\n", "escape": "\x1b", "tab": "\t", "line separator": "\u2028"}


def field_of(problem: dict[str, object]) -> str:
    errors = problem["errors"]
    assert isinstance(errors, list)
    return str(errors[0]["field"])


@pytest.mark.parametrize("character", sorted(CONTROL))
async def test_a_user_name_with_a_control_character_is_422(http: httpx.AsyncClient, character: str) -> None:
    name = f"Ada{CONTROL[character]}Bcc: eve@example.com"
    email = f"ctl-{uuid.uuid4().hex[:12]}@example.com"
    created = await http.post("/v1/users", json={"name": name, "email": email, "password": "long enough"})
    assert field_of(assert_problem(created, 422)) == "name"
    user = await create_user(http)
    patched = await http.patch(f"/v1/users/{user['id']}", json={"name": name})
    assert field_of(assert_problem(patched, 422)) == "name"


async def test_names_in_any_script_are_fine(http: httpx.AsyncClient) -> None:
    for name in ("Zoë Ærø-Łukasz", "中村 さくら", "אדה", "Ada 🚀", "O'Brien"):
        user = await create_user(http, name=name)
        assert user["name"] == name


@pytest.mark.parametrize("character", ["NUL", "escape", "LF"])
async def test_a_device_token_with_a_control_character_is_422(http: httpx.AsyncClient, character: str) -> None:
    user = await create_user(http)
    token = f"tok{CONTROL[character]}en"
    added = await http.post(f"/v1/users/{user['id']}/devices", json={"token": token, "platform": "ios"})
    assert field_of(assert_problem(added, 422)) == "token"
    removed = await http.delete(f"/v1/users/{user['id']}/devices/{quote(token, safe='')}")
    assert field_of(assert_problem(removed, 422)) == "token"


async def test_a_login_email_with_nul_is_a_failed_login(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/auth/login", json={"email": "a\x00b@example.com", "password": "long enough"}, headers={"X-API-Key": ""}
    )
    assert_problem(response, 401)


@pytest.mark.parametrize("part", ["subject", "body", "html_body"])
async def test_a_template_part_with_nul_is_422(http: httpx.AsyncClient, part: str) -> None:
    template = {"slug": f"nul-{uuid.uuid4().hex[:8]}", "channel": "email", "subject": "s", "body": "b"}
    template[part] = "before\x00after"
    created = await http.post("/v1/templates", json=template)
    assert field_of(assert_problem(created, 422)) == part
    template[part] = "fine"
    assert (await http.post("/v1/templates", json=template)).status_code == 201
    template[part] = "again\x00"
    updated = await http.put(f"/v1/templates/{template['slug']}", json=template)
    assert field_of(assert_problem(updated, 422)) == part
