"""SQL is built only with bound parameters: strings that would break a query built by pasting text (quotes,
``; DROP TABLE ...; --``, comment markers, backslashes, dollar quotes) go in through every free-text field of
the API, come back verbatim, and every table is still there afterwards."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from devstack.infra import Infra
from tests.integration.security.conftest import SecuredStack

ATTACK = "Robert'); DROP TABLE users; --"
TEXTS = [
    ATTACK,
    "'; DROP TABLE notification_statuses; --",
    "' OR '1'='1",
    '"; DELETE FROM templates; --',
    "\\'; TRUNCATE template_versions; -- \\",
    "$1 $$ $body$; SELECT pg_sleep(5); $body$",
    "/* */ UNION SELECT password_hash FROM users --",
]
EMAIL = "o'brien'--{}@example.com"
"""Quotes and comment dashes are legal in an address's local part."""
TABLES = {
    "USER_SVC_DATABASE_URL": ["users", "devices"],
    "TEMPLATE_SVC_DATABASE_URL": ["templates", "template_versions"],
    "NOTIFICATIONS_DATABASE_URL": ["notification_statuses", "notification_events", "email_suppressions"],
}
ANONYMOUS = {"X-API-Key": ""}


def body(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def user_fields_round_trip(api: httpx.AsyncClient) -> str:
    """Name, email, password and device tokens full of SQL; returns the user's id."""
    email = EMAIL.format(uuid.uuid4().hex[:8])
    user = body(await api.post("/v1/users", json={"name": ATTACK, "email": email, "password": TEXTS[1]}), 201)
    assert (user["name"], user["email"]) == (ATTACK, email)
    devices = []
    for index, text in enumerate(TEXTS):
        assert body(await api.patch(f"/v1/users/{user['id']}", json={"name": text}))["name"] == text
        devices.append(f"{text}-{index}")
        added = await api.post(f"/v1/users/{user['id']}/devices", json={"token": devices[-1], "platform": "web"})
        assert body(added, 201)["token"] == devices[-1]
    fetched = body(await api.get(f"/v1/users/{user['id']}"))
    assert fetched["name"] == TEXTS[-1]
    assert sorted(device["token"] for device in fetched["devices"]) == sorted(devices)
    body(await api.delete(f"/v1/users/{user['id']}/devices/{quote(devices[0], safe='')}"), 204)
    login = {"email": email, "password": TEXTS[1]}
    assert (await api.post("/v1/auth/login", json=login, headers=ANONYMOUS)).status_code == 200
    login["password"] = "' OR '1'='1"
    assert (await api.post("/v1/auth/login", json=login, headers=ANONYMOUS)).status_code == 401
    return str(user["id"])


async def template_fields_round_trip(api: httpx.AsyncClient) -> str:
    """Subject, body and rendered variables full of SQL; returns the template's slug."""
    slug = f"sqli-{uuid.uuid4().hex[:8]}"
    template = {"slug": slug, "channel": "email", "subject": TEXTS[2], "body": "\n".join(TEXTS) + " {{ v }}"}
    created = body(await api.post("/v1/templates", json=template), 201)
    assert (created["subject"], created["body"]) == (template["subject"], template["body"])
    preview = {"channel": "email", "variables": {"v": ATTACK}}
    rendered = body(await api.post(f"/v1/templates/{slug}/render", json=preview))
    assert rendered["email"]["text_body"] == "\n".join(TEXTS) + " " + ATTACK
    return slug


async def test_injection_strings_round_trip_verbatim(secured: SecuredStack) -> None:
    api = secured.api
    user_id = await user_fields_round_trip(api)
    slug = await template_fields_round_trip(api)

    metadata = {f"k{index}": text for index, text in enumerate(TEXTS)} | {ATTACK: "key"}
    send = {"user_id": user_id, "channel": "email", "template": slug, "variables": {"v": ATTACK}, "metadata": metadata}
    idempotency = {"Idempotency-Key": f"{TEXTS[1]} {uuid.uuid4().hex}"}  # kept 24 h: fresh for every run
    sent = body(await api.post("/v1/notifications/send", json=send, headers=idempotency), 202)
    assert body(await api.get(f"/v1/notifications/{sent['notification_id']}"))["metadata"] == metadata
    replay = body(await api.post("/v1/notifications/send", json=send, headers=idempotency), 202)
    assert replay["notification_id"] == sent["notification_id"]

    for path in ("/v1/users", "/v1/templates", "/v1/notifications"):
        for text in TEXTS[:3]:
            response = await api.get(path, params={"cursor": text})
            assert response.status_code in (200, 422), response.text  # decoded to an id, or refused; never run
    listed = body(await api.get("/v1/notifications", params={"user_id": user_id, "status": "queued"}))
    assert all(item["user_id"] == user_id for item in listed["items"])


async def test_every_table_is_still_there(secured: SecuredStack, infra: Infra) -> None:
    for variable, tables in TABLES.items():
        connection = await asyncpg.connect(infra.database_urls[variable])
        try:
            for table in tables:
                assert await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table), table
            if variable == "USER_SVC_DATABASE_URL":
                assert await connection.fetchval("SELECT count(*) FROM users") > 0
        finally:
            await connection.close()
