"""Applications and API keys through the REST API, against the real servers: the operator's routes, issued
keys (scopes, mode, last use, revocation on every replica), disabling and purging (docs/api.md "Applications
and keys")."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.envelope import decode_envelope
from devstack.infra import Infra
from tests.integration.gateway.harness import (
    ADMIN_API_KEY,
    API_KEY,
    VARIABLES,
    Gateway,
    create_user,
    gateway_settings,
    running_gateway,
    upsert_templates,
)
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService

ADMIN = {"X-API-Key": ADMIN_API_KEY}
SEND_ONLY = ["notifications:send"]
EVERY_SCOPE = [
    "notifications:send",
    "notifications:read",
    "users:read",
    "users:write",
    "templates:read",
    "templates:write",
]


async def new_application(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/applications", json={"name": f"app-{uuid.uuid4().hex[:8]}", **fields}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_key(client: httpx.AsyncClient, application_id: str, scopes: list[str], **fields: Any) -> dict[str, Any]:
    response = await client.post(
        f"/v1/applications/{application_id}/keys", json={"name": "a key", "scopes": scopes, **fields}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def whoami(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/v1/auth/whoami", headers={"X-API-Key": key})


async def refused_within(client: httpx.AsyncClient, key: str, seconds: float) -> float:
    """How long it took until ``key`` was refused (401); fails when it still works after ``seconds``."""
    started = time.monotonic()
    while (await whoami(client, key)).status_code != 401:
        assert time.monotonic() - started < seconds, f"the key still works after {seconds} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def send_welcome(gateway: Gateway, key: str) -> httpx.Response:
    """A user and the welcome templates made with ``key``, then a send with it."""
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers={"X-API-Key": key}) as client:
        user = await create_user(client)
        await upsert_templates(client)
        return await client.post(
            "/v1/notifications/send",
            json={"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES},
        )


@pytest.fixture
async def replica(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService
) -> AsyncIterator[Gateway]:
    """A second gateway process's worth of state: its own caches, on the same servers."""
    settings = gateway_settings(infra, users=user_service, templates=template_service)
    async with running_gateway(settings) as running:
        yield running


async def test_the_operator_creates_lists_changes_and_reads_applications(gateway: Gateway) -> None:
    client = gateway.client
    created = await new_application(client, rate_limit_per_minute=600)
    assert (created["rate_limit_per_minute"], created["disabled_at"]) == (600, None)
    fetched = await client.get(f"/v1/applications/{created['id']}", headers=ADMIN)
    assert fetched.json() == created

    changed = await client.patch(f"/v1/applications/{created['id']}", json={"name": "renamed"}, headers=ADMIN)
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["rate_limit_per_minute"]) == ("renamed", 600)
    reset = await client.patch(f"/v1/applications/{created['id']}", json={"rate_limit_per_minute": None}, headers=ADMIN)
    assert (reset.json()["name"], reset.json()["rate_limit_per_minute"]) == ("renamed", None)

    seen: list[str] = []
    cursor = None
    while True:
        page = await client.get(
            "/v1/applications", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=ADMIN
        )
        assert page.status_code == 200
        assert len(page.json()["items"]) <= 2
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert {str(DEFAULT_APPLICATION_ID), created["id"]} <= set(seen)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/applications", {"name": ""}),
        ("POST", "/v1/applications", {"name": "x", "rate_limit_per_minute": -1}),
        ("POST", "/v1/applications", {"name": "nul\u0000"}),
        ("PATCH", f"/v1/applications/{DEFAULT_APPLICATION_ID}", {"name": None}),
        ("GET", "/v1/applications/not-a-uuid", None),
        ("GET", "/v1/applications?cursor=%21%21", None),
    ],
)
async def test_bad_input_is_422(gateway: Gateway, method: str, path: str, body: Any) -> None:
    response = await gateway.client.request(method, path, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_only_the_operator_manages_applications(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], EVERY_SCOPE)
    for key in (API_KEY, issued["key"]):
        response = await gateway.client.get("/v1/applications", headers={"X-API-Key": key})
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await gateway.client.get("/v1/applications", headers={"X-API-Key": "nope"})).status_code == 401


async def test_a_key_is_shown_once_scoped_and_listed_without_its_secret(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], ["notifications:send", "notifications:send"])
    assert issued["key"].startswith(f"nk_{issued['id']}_")
    assert issued["key"].startswith(issued["prefix"])
    assert (issued["scopes"], issued["mode"]) == (["notifications:send"], "live")

    me = await whoami(gateway.client, issued["key"])
    assert me.json() == {
        "application_id": application["id"],
        "key_id": issued["id"],
        "scopes": ["notifications:send"],
        "admin": False,
    }
    await gateway.resources.key_usage.flush()
    listed = await gateway.client.get(f"/v1/applications/{application['id']}/keys", headers=ADMIN)
    [key] = listed.json()["items"]
    assert issued["key"] not in listed.text
    assert (key["id"], key["prefix"], key["revoked_at"]) == (issued["id"], issued["prefix"], None)
    assert key["last_used_at"] is not None


async def test_an_unknown_scope_is_422_naming_it(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    response = await gateway.client.post(
        f"/v1/applications/{application['id']}/keys",
        json={"name": "k", "scopes": ["notifications:send", "notifications:sned"]},
        headers=ADMIN,
    )
    assert response.status_code == 422
    assert "notifications:sned" in response.json()["errors"][0]["message"]


async def test_the_operator_acts_in_the_application_it_names(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    me = await gateway.client.get("/v1/auth/whoami", headers={**ADMIN, "X-Application-Id": application["id"]})
    assert me.json() == {
        "application_id": application["id"],
        "key_id": "admin",
        "scopes": me.json()["scopes"],
        "admin": True,
    }
    assert len(me.json()["scopes"]) == 10
    default = await gateway.client.get("/v1/auth/whoami", headers=ADMIN)
    assert default.json()["application_id"] == str(DEFAULT_APPLICATION_ID)
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        response = await gateway.client.get("/v1/auth/whoami", headers={**ADMIN, "X-Application-Id": unknown})
        assert response.status_code == 404


async def test_a_user_token_has_no_scopes(gateway: Gateway) -> None:
    user = await create_user(gateway.client, password="correct horse battery")
    login = await gateway.client.post(
        "/v1/auth/login", json={"email": user["email"], "password": "correct horse battery"}
    )
    token = login.json()["access_token"]
    me = await gateway.client.get("/v1/auth/whoami", headers={"X-API-Key": "", "Authorization": f"Bearer {token}"})
    assert me.json() == {"application_id": str(DEFAULT_APPLICATION_ID), "key_id": None, "scopes": [], "admin": False}


async def test_a_revoked_key_is_refused_by_every_replica_within_two_seconds(gateway: Gateway, replica: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], SEND_ONLY)
    assert (await whoami(replica.client, issued["key"])).status_code == 200  # the replica holds it now
    revoked = await gateway.client.delete(f"/v1/applications/{application['id']}/keys/{issued['id']}", headers=ADMIN)
    assert revoked.status_code == 204
    assert (await whoami(gateway.client, issued["key"])).status_code == 401  # at once where it was revoked
    assert await refused_within(replica.client, issued["key"], 2.0) < 2.0
    listed = await gateway.client.get(f"/v1/applications/{application['id']}/keys", headers=ADMIN)
    assert listed.json()["items"][0]["revoked_at"] is not None


async def test_without_events_a_revoked_key_is_refused_once_the_cache_lifetime_ends(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService, gateway: Gateway
) -> None:
    settings = gateway_settings(infra, users=user_service, templates=template_service, key_cache_seconds=1)
    async with running_gateway(settings) as deaf:
        application = await new_application(gateway.client)
        issued = await new_key(gateway.client, application["id"], SEND_ONLY)
        assert (await whoami(deaf.client, issued["key"])).status_code == 200
        # Revoked behind every gateway's back: no KeyRevoked event is published.
        await gateway.resources.db.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", issued["id"])
        assert (await whoami(deaf.client, issued["key"])).status_code == 200  # still trusted from memory
        assert await refused_within(deaf.client, issued["key"], 1.5) > 0


async def test_bad_keys_answer_one_401(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], SEND_ONLY)
    wrong_secret = issued["key"][:-3] + ("aaa" if not issued["key"].endswith("aaa") else "bbb")
    bodies = set()
    for key in (wrong_secret, f"nk_{uuid.uuid4().hex[:16]}_secret", "nk_malformed"):
        response = await whoami(gateway.client, key)
        assert response.status_code == 401
        bodies.add(response.json()["detail"])
    assert len(bodies) == 1


async def test_a_deleted_application_is_gone_at_once_and_purged(gateway: Gateway, replica: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], EVERY_SCOPE)
    client = gateway.client
    sent = await send_welcome(gateway, issued["key"])
    assert sent.status_code == 202, sent.text
    assert (await whoami(replica.client, issued["key"])).status_code == 200

    assert (await client.delete(f"/v1/applications/{application['id']}", headers=ADMIN)).status_code == 204
    assert (await whoami(client, issued["key"])).status_code == 401
    assert await refused_within(replica.client, issued["key"], 2.0) < 2.0
    assert (await client.get(f"/v1/applications/{application['id']}", headers=ADMIN)).status_code == 404
    named = {**ADMIN, "X-Application-Id": application["id"]}
    assert (await client.get("/v1/auth/whoami", headers=named)).status_code == 404
    assert (await client.delete(f"/v1/applications/{application['id']}", headers=ADMIN)).status_code == 404

    await gateway.resources.purger.run_once()
    left = await gateway.resources.db.fetchval(
        "SELECT count(*) FROM notification_statuses WHERE application_id = $1", uuid.UUID(application["id"])
    )
    assert left == 0


async def test_a_purge_deletes_the_applications_data_and_ends_with_purged_at(gateway: Gateway, infra: Infra) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], EVERY_SCOPE)
    assert (await send_welcome(gateway, issued["key"])).status_code == 202
    assert (await gateway.client.delete(f"/v1/applications/{application['id']}", headers=ADMIN)).status_code == 204
    assert await gateway.resources.purger.run_once() >= 1
    application_id = uuid.UUID(application["id"])
    db = gateway.resources.db
    assert await db.fetchval("SELECT purged_at FROM applications WHERE id = $1", application_id) is not None
    assert (
        await db.fetchval("SELECT count(*) FROM notification_statuses WHERE application_id = $1", application_id) == 0
    )
    for variable, table in (("USER_SVC_DATABASE_URL", "users"), ("TEMPLATE_SVC_DATABASE_URL", "templates")):
        connection = await asyncpg.connect(infra.database(variable))
        try:
            left = await connection.fetchval(
                f"SELECT count(*) FROM {table} WHERE application_id = $1",  # noqa: S608 - a constant table name
                application_id,
            )
        finally:
            await connection.close()
        assert left == 0, table


async def test_the_default_application_cannot_be_deleted(gateway: Gateway) -> None:
    response = await gateway.client.delete(f"/v1/applications/{DEFAULT_APPLICATION_ID}", headers=ADMIN)
    assert response.status_code == 409
    assert (await whoami(gateway.client, API_KEY)).status_code == 200


async def test_a_test_keys_send_is_queued_like_a_live_one_and_marked_test_mode(gateway: Gateway) -> None:
    application = await new_application(gateway.client)
    issued = await new_key(gateway.client, application["id"], EVERY_SCOPE, mode="test")
    assert issued["mode"] == "test"
    sent = await send_welcome(gateway, issued["key"])
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "queued"
    envelope = await gateway.resources.db.fetchval(
        "SELECT envelope FROM notification_statuses WHERE id = $1", uuid.UUID(sent.json()["notification_id"])
    )
    assert decode_envelope(envelope).test_mode
