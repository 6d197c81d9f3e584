"""Header injection through template variables, end to end: the gateway renders, the email worker builds the
message, the SMTP sink receives it. A line break that would land in the subject is refused (422, on the
preview and on the send); every other separator some parser might treat as one (vertical tab, form feed, NEL,
U+2028, ...) is delivered without creating a header, and so is any line break in the body."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.security.conftest import SecuredStack

INJECTED = "Bcc: eve@evil.example"
LINE_BREAKS = {"CRLF": "\r\n", "LF": "\n", "CR": "\r", "blank line": "\r\n\r\n"}
OTHER_SEPARATORS = {
    "vertical tab": "\x0b",
    "form feed": "\x0c",
    "file separator": "\x1c",
    "NEL": "\x85",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "NUL": "\x00",
}
DELIVERY_TIMEOUT_SECONDS = 20.0


@pytest.fixture(scope="module")
async def recipient(secured: SecuredStack) -> dict[str, str]:
    """A user and an email template whose subject, body and HTML body all print ``topic``."""
    slug = f"inject-{uuid.uuid4().hex[:10]}"
    template = {
        "slug": slug,
        "channel": "email",
        "subject": "Re: {{ topic }}",
        "body": "Body: {{ topic }}",
        "html_body": "<p>{{ topic }}</p>",
    }
    assert (await secured.api.post("/v1/templates", json=template)).status_code == 201
    email = f"inject-{uuid.uuid4().hex[:12]}@example.com"
    body = {"name": "Ada", "email": email, "password": secured.secrets.user_password}
    user = await secured.api.post("/v1/users", json=body)
    assert user.status_code == 201, user.text
    return {"slug": slug, "user_id": user.json()["id"], "email": email}


async def send(secured: SecuredStack, recipient: dict[str, str], topic: str) -> httpx.Response:
    body = {"user_id": recipient["user_id"], "channel": "email", "template": recipient["slug"]}
    return await secured.api.post("/v1/notifications/send", json={**body, "variables": {"topic": topic}})


async def delivered_message(secured: SecuredStack, notification_id: str, address: str) -> dict[str, Any]:
    """The sink's record of the notification's email (found by its Message-ID), once delivered."""
    deadline = asyncio.get_running_loop().time() + DELIVERY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=secured.stack.url("smtp_sink")) as sink:
        while True:
            status = (await secured.api.get(f"/v1/notifications/{notification_id}")).json()
            assert status["status"] not in ("failed", "skipped"), status
            if status["status"] == "delivered":
                for message in (await sink.get("/messages", params={"recipient": address})).json():
                    if notification_id in (message["message_id"] or ""):
                        return dict(message)
            assert asyncio.get_running_loop().time() < deadline, status
            await asyncio.sleep(0.05)


def raw_header_lines(message: dict[str, Any]) -> list[str]:
    """The header lines of the stored message as they arrived (before the first blank line)."""
    head = Path(message["file"]).read_bytes().split(b"\r\n\r\n", 1)[0]
    return head.decode("utf-8", errors="replace").split("\r\n")


def assert_no_injected_header(message: dict[str, Any], address: str) -> None:
    assert message["recipients"] == [address]
    assert not any(name.lower() in ("bcc", "cc") for name in message["headers"]), message["headers"]
    lines = raw_header_lines(message)
    assert not [line for line in lines if line.lower().startswith(("bcc:", "cc:"))], lines


@pytest.mark.parametrize("separator", sorted(LINE_BREAKS))
async def test_a_line_break_that_would_reach_the_subject_is_422(
    secured: SecuredStack, recipient: dict[str, str], separator: str
) -> None:
    topic = f"hello{LINE_BREAKS[separator]}{INJECTED}"
    preview = await secured.api.post(
        f"/v1/templates/{recipient['slug']}/render", json={"channel": "email", "variables": {"topic": topic}}
    )
    for response in (preview, await send(secured, recipient, topic)):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "subject"


@pytest.mark.parametrize("separator", sorted(OTHER_SEPARATORS))
async def test_other_separators_in_the_subject_create_no_header(
    secured: SecuredStack, recipient: dict[str, str], separator: str
) -> None:
    sent = await send(secured, recipient, f"hello{OTHER_SEPARATORS[separator]}{INJECTED}")
    if sent.status_code == 422:  # refused is as good as harmless
        assert sent.json()["errors"][0]["field"] == "subject"
        return
    assert sent.status_code == 202, sent.text
    message = await delivered_message(secured, sent.json()["notification_id"], recipient["email"])
    assert_no_injected_header(message, recipient["email"])


async def test_line_breaks_in_a_variable_that_only_reaches_the_body_are_delivered_as_text(
    secured: SecuredStack, recipient: dict[str, str]
) -> None:
    slug = f"body-only-{uuid.uuid4().hex[:10]}"
    template = {"slug": slug, "channel": "email", "subject": "Plain", "body": "{{ topic }}", "html_body": "{{ topic }}"}
    assert (await secured.api.post("/v1/templates", json=template)).status_code == 201
    topic = f"first line\r\n{INJECTED}\r\n\r\n--boundary\r\nContent-Type: text/html\r\n\r\n<b>forged</b>"
    body = {"user_id": recipient["user_id"], "channel": "email", "template": slug, "variables": {"topic": topic}}
    sent = await secured.api.post("/v1/notifications/send", json=body)
    assert sent.status_code == 202, sent.text
    message = await delivered_message(secured, sent.json()["notification_id"], recipient["email"])
    assert_no_injected_header(message, recipient["email"])
    assert message["subject"] == "Plain"
    assert message["text"].replace("\r\n", "\n").strip() == topic.replace("\r\n", "\n").strip()
