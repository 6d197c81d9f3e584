"""The gateway accepts a user token only when it is exactly what user_svc issues: HS256 with the JWT secret,
unexpired, with ``sub``, ``iat`` and ``exp``. Tampered, expired, unsigned (``alg=none``) and otherwise
forged tokens are 401 problem bodies."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.security.conftest import SecuredStack


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims(user_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": user_id, "iat": now, "exp": now + 600, **changes}


def tampered(token: str, user_id: str, other_id: str) -> str:
    """The payload swapped for another user's, the signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64({**decoded, 'sub': other_id})}.{signature}"


def unsigned(user_id: str) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(user_id))}."


FORGERIES: dict[str, Callable[[str, str, str, str], str]] = {
    "tampered payload": lambda token, secret, user, other: tampered(token, user, other),
    "tampered signature": lambda token, secret, user, other: token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"),
    "expired": lambda token, secret, user, other: jwt.encode(
        claims(user, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), secret, algorithm="HS256"
    ),
    "alg none": lambda token, secret, user, other: unsigned(user),
    "alg none, signature kept": lambda token, secret, user, other: unsigned(user) + token.split(".")[2],
    "other algorithm (HS512)": lambda token, secret, user, other: jwt.encode(claims(user), secret, algorithm="HS512"),
    "wrong secret": lambda token, secret, user, other: jwt.encode(claims(user), secret + "x", algorithm="HS256"),
    "no exp": lambda token, secret, user, other: jwt.encode({"sub": user, "iat": int(time.time())}, secret),
    "no sub": lambda token, secret, user, other: jwt.encode(
        {k: v for k, v in claims(user).items() if k != "sub"}, secret
    ),
    "sub not a user id": lambda token, secret, user, other: jwt.encode(claims("admin"), secret, algorithm="HS256"),
    "not a JWT": lambda token, secret, user, other: "not-a-jwt",
}


@pytest.fixture(scope="module")
async def logged_in(secured: SecuredStack) -> tuple[str, str, str]:
    """(token, user id, another user's id): a user that logged in, and a second user."""
    ids = []
    email = ""
    for name in ("Ada", "Bob"):
        email = f"tok-{uuid.uuid4().hex[:12]}@example.com"
        body = {"name": name, "email": email, "password": secured.secrets.user_password}
        created = await secured.api.post("/v1/users", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    login = await secured.api.post(
        "/v1/auth/login", json={"email": email, "password": secured.secrets.user_password}, headers={"X-API-Key": ""}
    )
    assert login.status_code == 200, login.text
    return login.json()["access_token"], ids[1], ids[0]


async def get_own_user(secured: SecuredStack, user_id: str, token: str) -> httpx.Response:
    return await secured.api.get(f"/v1/users/{user_id}", headers={"X-API-Key": "", "Authorization": f"Bearer {token}"})


async def test_the_issued_token_reaches_its_own_user(secured: SecuredStack, logged_in: tuple[str, str, str]) -> None:
    token, user_id, _ = logged_in
    assert (await get_own_user(secured, user_id, token)).status_code == 200


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_a_forged_token_is_401(secured: SecuredStack, logged_in: tuple[str, str, str], forgery: str) -> None:
    token, user_id, other_id = logged_in
    forged = FORGERIES[forgery](token, secured.secrets.jwt_secret, user_id, other_id)
    for target in (user_id, other_id):
        response = await get_own_user(secured, target, forged)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401
