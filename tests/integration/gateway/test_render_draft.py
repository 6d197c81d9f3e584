"""``POST /v1/templates/{slug}/render`` with ``draft``: unsaved parts rendered in the gateway with the sandboxed
renderer, the same answers as a stored version's render (422 naming the missing variable, the line that does not
compile, a subject that would forge headers), and never with a ``version``."""

from __future__ import annotations

import pytest

from tests.integration.gateway.harness import Gateway

pytestmark = pytest.mark.usefixtures("templates")


async def render(gateway: Gateway, **body: object) -> tuple[int, dict[str, object]]:
    response = await gateway.client.post("/v1/templates/welcome/render", json=body)
    return response.status_code, response.json()


async def test_a_draft_renders_instead_of_the_stored_version(gateway: Gateway) -> None:
    status, body = await render(
        gateway,
        channel="email",
        variables={"name": "Grace"},
        user={"name": "Ada"},
        draft={"subject": "Hi {{ user.name }}", "body": "Dear {{ name }}, unsaved.", "html_body": "<p>{{ name }}</p>"},
    )

    assert status == 200, body
    assert body["version"] == 0
    assert body["email"] == {"subject": "Hi Ada", "text_body": "Dear Grace, unsaved.", "html_body": "<p>Grace</p>"}


async def test_a_push_draft_renders_its_data(gateway: Gateway) -> None:
    status, body = await render(
        gateway,
        channel="push",
        variables={"n": 3},
        draft={"title": "{{ n }} new", "body": "You have {{ n }}", "data": {"count": "{{ n }}"}},
    )

    assert status == 200, body
    assert body["push"] == {"title": "3 new", "body": "You have 3", "data": {"count": "3"}}


async def test_a_draft_names_what_is_wrong_with_it(gateway: Gateway) -> None:
    status, missing = await render(gateway, channel="email", variables={}, draft={"subject": "x", "body": "{{ name }}"})
    assert status == 422
    assert missing["errors"] == [{"field": "variables.name", "message": "is used by body line 1 but was not given"}]

    status, broken = await render(gateway, channel="email", variables={}, draft={"subject": "x", "body": "a\n{% if %}"})
    assert status == 422
    assert broken["errors"][0]["field"] == "body"
    assert "line 2" in broken["errors"][0]["message"]

    forged_subject = {"subject": "{{ s }}", "body": "b"}
    status, forged = await render(
        gateway, channel="email", variables={"s": "a\r\nBcc: evil@example.com"}, draft=forged_subject
    )
    assert status == 422
    assert forged["errors"][0]["field"] == "subject"


async def test_a_draft_and_a_version_together_are_refused(gateway: Gateway) -> None:
    status, body = await render(gateway, channel="email", variables={}, version=1, draft={"body": "x"})
    assert status == 422
    assert "not both" in str(body["errors"])
