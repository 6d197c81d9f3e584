"""Templates through the gateway to a real template_svc."""

from __future__ import annotations

import uuid

from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.test_edge import assert_problem


def slug() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def email_template(name: str, **changes: object) -> dict[str, object]:
    return {"slug": name, "channel": "email", "subject": "Hi {{ user.name }}", "body": "Code {{ code }}", **changes}


async def test_create_get_list_and_delete(gateway: Gateway) -> None:
    name = slug()
    created = await gateway.client.post("/v1/templates", json=email_template(name))
    assert created.status_code == 201, created.text
    template = created.json()
    assert (template["slug"], template["channel"], template["locale"]) == (name, "email", "en")
    assert template["version"] == template["active_version"] == 1
    assert template["title"] is None

    assert_problem(await gateway.client.post("/v1/templates", json=email_template(name)), 409)

    fetched = await gateway.client.get(f"/v1/templates/{name}", params={"channel": "email"})
    assert fetched.status_code == 200
    assert fetched.json()["body"] == "Code {{ code }}"
    assert_problem(await gateway.client.get(f"/v1/templates/{name}"), 422)  # channel is required
    assert_problem(await gateway.client.get(f"/v1/templates/{name}", params={"channel": "push"}), 404)

    listed = await gateway.client.get("/v1/templates", params={"channel": "email", "limit": 100})
    assert listed.status_code == 200
    assert all(item["channel"] == "email" for item in listed.json()["items"])

    deleted = await gateway.client.delete(f"/v1/templates/{name}", params={"channel": "email"})
    assert deleted.status_code == 204
    assert_problem(await gateway.client.get(f"/v1/templates/{name}", params={"channel": "email"}), 404)


async def test_versions_update_and_activate(gateway: Gateway) -> None:
    name = slug()
    await gateway.client.post("/v1/templates", json=email_template(name))
    updated = await gateway.client.put(f"/v1/templates/{name}", json=email_template(name, body="New {{ code }}"))
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    mismatched = await gateway.client.put(f"/v1/templates/{name}", json=email_template("other-slug"))
    assert assert_problem(mismatched, 422)["errors"][0]["field"] == "slug"
    assert_problem(await gateway.client.put(f"/v1/templates/{slug()}", json=email_template("x") | {"slug": None}), 404)

    versions = await gateway.client.get(f"/v1/templates/{name}/versions", params={"channel": "email"})
    assert [v["version"] for v in versions.json()["items"]] == [1, 2]

    activated = await gateway.client.post(f"/v1/templates/{name}/versions/1/activate", params={"channel": "email"})
    assert activated.status_code == 200
    assert activated.json()["active_version"] == 1
    old = await gateway.client.get(f"/v1/templates/{name}", params={"channel": "email", "version": 2})
    assert old.json()["body"] == "New {{ code }}"
    missing = await gateway.client.post(f"/v1/templates/{name}/versions/9/activate", params={"channel": "email"})
    assert_problem(missing, 404)


async def test_a_template_that_does_not_compile_is_422(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/templates", json=email_template(slug(), body="{% if %}"))
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "body"
    missing_part = await gateway.client.post("/v1/templates", json={"slug": slug(), "channel": "push", "body": "x"})
    assert_problem(missing_part, 422)


async def test_render_previews_with_fallback_and_refuses_header_injection(gateway: Gateway) -> None:
    name = slug()
    await gateway.client.post("/v1/templates", json=email_template(name))
    rendered = await gateway.client.post(
        f"/v1/templates/{name}/render",
        json={"channel": "email", "locale": "pt-BR", "variables": {"code": "123"}, "user": {"name": "Ada"}},
    )
    assert rendered.status_code == 200, rendered.text
    body = rendered.json()
    assert body["locale"] == "en"
    assert body["email"] == {"subject": "Hi Ada", "text_body": "Code 123", "html_body": None}
    assert body["push"] is None

    missing = await gateway.client.post(f"/v1/templates/{name}/render", json={"channel": "email", "variables": {}})
    assert assert_problem(missing, 422)["errors"][0]["field"] == "variables.code"

    injected = await gateway.client.post(
        f"/v1/templates/{name}/render",
        json={"channel": "email", "variables": {"code": "1"}, "user": {"name": "x\r\nBcc: evil@example.com"}},
    )
    assert_problem(injected, 422)
