"""The console at /console, driven as a browser without JavaScript would (plain forms and links) against a real
gateway, user_svc, template_svc, Redis and Postgres: sign-in, the session cookie and its Redis record, CSRF
refusals, what a narrow key is offered, a template edited through the API, the audit log, and the panels that
stand in for routes the gateway does not have."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.console.audit import STREAM
from tests.integration.gateway.harness import ADMIN_API_KEY, API_KEY, VARIABLES, Gateway, create_user

pytestmark = pytest.mark.usefixtures("templates")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def browser(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client of the gateway with no API key of its own."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway") as client:
        yield client


async def sign_in(browser: httpx.AsyncClient, api_key: str, next_path: str = "/console/templates") -> httpx.Response:
    form = await browser.get("/console/sign-in")
    token = CSRF.search(form.text)
    assert token, form.text
    return await browser.post(
        "/console/sign-in", data={"csrf_token": token.group(1), "api_key": api_key, "next": next_path}
    )


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_the_bare_path_leads_to_the_console(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/console")
    assert response.status_code == 307
    assert response.headers["location"] == "/console/"


async def test_a_page_without_a_session_sends_to_the_sign_in_form(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/console/notifications?status=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=/console/notifications%3Fstatus%3Dfailed"


async def test_a_wrong_key_is_refused_and_no_session_is_made(browser: httpx.AsyncClient) -> None:
    response = await sign_in(browser, "nk_wrong_key")
    assert response.status_code == 401
    assert "That key is not valid." in response.text
    assert "console_session" not in browser.cookies


async def test_signing_in_sets_a_strict_http_only_cookie_and_keeps_the_key_encrypted(
    browser: httpx.AsyncClient, gateway: Gateway
) -> None:
    response = await sign_in(browser, ADMIN_API_KEY)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/templates"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # dev; production adds it
    session_id = browser.cookies["console_session"]
    name = f"console:{{s:{hashlib.sha256(session_id.encode()).hexdigest()}}}"
    raw = await gateway.resources.redis.get(name)
    assert raw is not None
    assert ADMIN_API_KEY.encode() not in raw
    assert session_id.encode() not in raw
    assert 1790 <= await gateway.resources.redis.ttl(name) <= 1800
    page = await browser.get("/console/templates")
    assert page.status_code == 200
    assert "<h1>Templates</h1>" in page.text  # the list itself depends on what earlier tests left
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_signing_out_ends_the_session(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, ADMIN_API_KEY)
    page = await browser.get("/console/templates")
    response = await browser.post("/console/sign-out", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303
    assert (await browser.get("/console/templates")).status_code == 303


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: httpx.AsyncClient, gateway: Gateway
) -> None:
    await sign_in(browser, ADMIN_API_KEY)
    before = (await gateway.client.get("/v1/templates/welcome", params={"channel": "email"})).json()["version"]
    response = await browser.post(
        "/console/templates/welcome", data={"channel": "email", "body": "forged", "csrf_token": "wrong"}
    )
    assert response.status_code == 403
    after = (await gateway.client.get("/v1/templates/welcome", params={"channel": "email"})).json()["version"]
    assert after == before


async def test_a_template_saved_in_the_console_is_a_new_active_version_and_audited(
    browser: httpx.AsyncClient, gateway: Gateway
) -> None:
    await sign_in(browser, ADMIN_API_KEY)
    editor = await browser.get("/console/templates/welcome", params={"channel": "push", "locale": "en"})
    assert editor.status_code == 200
    saved = await browser.post(
        "/console/templates/welcome",
        data={
            "csrf_token": csrf_of(editor),
            "channel": "push",
            "locale": "en",
            "title": "Hi {{ user.name }}",
            "body": "{{ name }} is here",
        },
    )
    assert saved.status_code == 303
    assert "Saved+as+version" in saved.headers["location"].replace("%20", "+")
    version = (await gateway.client.get("/v1/templates/welcome", params={"channel": "push"})).json()["active_version"]
    preview = await browser.post(
        "/console/templates/welcome/preview",
        data={"csrf_token": csrf_of(editor), "channel": "push", "variables": '{"name": "Grace"}'},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "Grace is here" in preview.text
    assert "<html" not in preview.text
    draft = await browser.post(
        "/console/templates/welcome/preview",
        data={
            "csrf_token": csrf_of(editor),
            "channel": "push",
            "variables": '{"name": "Grace"}',
            "title": "Draft {{ name }}",
            "body": "unsaved {{ name }}",
        },
        headers={"HX-Request": "true"},
    )
    assert "Unsaved draft" in draft.text
    assert "unsaved Grace" in draft.text
    audit = await browser.get("/console/audit")
    assert "template.update" in audit.text
    assert "welcome push en" in audit.text
    assert "200 ok" in audit.text
    entries = await gateway.resources.redis.xrevrange(STREAM, count=5)
    assert any(fields[b"action"] == b"template.update" and fields[b"who"] == b"admin" for _, fields in entries)
    assert version >= 1


async def test_a_narrow_key_is_offered_only_what_it_may_do(browser: httpx.AsyncClient, gateway: Gateway) -> None:
    admin = {"X-API-Key": ADMIN_API_KEY}
    apps = (await gateway.client.get("/v1/applications", headers=admin)).json()["items"]
    default = next(app for app in apps if app["name"] == "default")
    created = await gateway.client.post(
        f"/v1/applications/{default['id']}/keys", json={"name": "reader", "scopes": ["templates:read"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    response = await sign_in(browser, created.json()["key"])
    assert response.status_code == 303
    page = await browser.get("/console/templates")
    assert page.status_code == 200
    assert "Applications and keys" not in page.text
    assert "Notifications" not in page.text
    assert "Save as a new version" not in (await browser.get("/console/templates/welcome?channel=email")).text
    assert (await browser.get("/console/applications")).status_code == 403
    assert (await browser.get("/console/notifications")).status_code == 403


async def test_a_form_body_over_64_kib_is_413(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, ADMIN_API_KEY)
    response = await browser.post("/console/suppressions", data={"address": "x" * (65 * 1024)})
    assert response.status_code == 413


async def test_every_read_page_renders_for_the_operator(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, ADMIN_API_KEY)
    for path in (
        "/console/",
        "/console/notifications",
        "/console/notifications?status=failed&channel=email&created_after=2026-01-01T00:00",
        "/console/templates",
        "/console/templates/welcome?channel=email&locale=en",
        "/console/dead-letters",
        "/console/webhooks",
        "/console/topics",
        "/console/suppressions",
        "/console/applications",
        "/console/audit",
    ):
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        assert 'href="#main"' in page.text


async def test_the_operator_acts_in_the_application_it_chooses(browser: httpx.AsyncClient, gateway: Gateway) -> None:
    admin = {"X-API-Key": ADMIN_API_KEY}
    created = await gateway.client.post("/v1/applications", json={"name": "console-acting"}, headers=admin)
    application_id = created.json()["id"]
    await sign_in(browser, ADMIN_API_KEY)
    page = await browser.get(f"/console/applications/{application_id}")
    acted = await browser.post(f"/console/applications/{application_id}/act", data={"csrf_token": csrf_of(page)})
    assert acted.status_code == 303
    templates = await browser.get("/console/templates")
    assert application_id in templates.text
    assert "No templates." in templates.text  # the other application has none; default's welcome is not shown
    added = await browser.post(
        "/console/suppressions", data={"csrf_token": csrf_of(templates), "address": "acting@example.com"}
    )
    assert added.status_code == 303
    theirs = await gateway.client.get("/v1/suppressions", headers={**admin, "X-Application-Id": application_id})
    assert [s["address"] for s in theirs.json()["items"]] == ["acting@example.com"]
    entries = await gateway.resources.redis.xrevrange(STREAM, count=1)
    assert entries[0][1][b"app"] == application_id.encode()


async def test_a_scheduled_notification_is_found_and_cancelled_in_the_console(
    browser: httpx.AsyncClient, gateway: Gateway
) -> None:
    user = await create_user(gateway.client)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = await gateway.client.post(
        "/v1/notifications/send",
        json={
            "user_id": user["id"],
            "channel": "email",
            "template": "welcome",
            "variables": VARIABLES,
            "send_at": later,
        },
    )
    assert sent.status_code == 202, sent.text
    notification_id = sent.json()["notification_id"]
    await sign_in(browser, API_KEY)
    since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    found = await browser.get("/console/notifications", params={"user_id": user["id"], "created_after": since})
    assert notification_id in found.text
    assert (await browser.get("/console/notifications", params={"id": notification_id})).headers[
        "location"
    ] == f"/console/notifications/{notification_id}"
    page = await browser.get(f"/console/notifications/{notification_id}")
    assert "Cancel this notification" in page.text
    cancelled = await browser.post(
        f"/console/notifications/{notification_id}/cancel", data={"csrf_token": csrf_of(page)}
    )
    assert cancelled.status_code == 303
    assert (await gateway.client.get(f"/v1/notifications/{notification_id}")).json()["status"] == "cancelled"
    after = await browser.get(f"/console/notifications/{notification_id}")
    assert "Cancel this notification" not in after.text
    assert ">cancelled<" in after.text
