"""Categories and one-click unsubscribe through the whole stack (issue 18 items 1-2): a non-transactional email
carries RFC 8058 headers, the ``List-Unsubscribe`` URL read from the real SMTP sink is POSTed as a mail provider
would (no credentials, a form body), and from then on that category's email to the user is ``skipped``
(``category_opt_out``) while transactional email still flows. A complaint blocks only non-transactional mail."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.api import Api, Mailbox, unique
from tests.e2e.webhooks import Receiver, Webhooks, body, hook_path, of_type

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
REPORT_SECONDS = 20.0


@pytest.fixture(scope="module")
async def category(api: Api) -> str:
    key = unique("news")
    response = await api.http.put(f"/v1/categories/{key}", json={"name": "News", "transactional": False})
    assert response.status_code == 200, response.text
    return key


@pytest.fixture(scope="module")
async def templates(api: Api, category: str) -> dict[str, str]:
    """A template of the category and a transactional one, by kind."""
    news, receipt = unique("newsletter"), unique("receipt")
    created = await api.create_template(
        slug=news, channel="email", subject="News for {{ user.name }}", body="Hello", category=category
    )
    assert created["category"] == category
    await api.create_template(slug=receipt, channel="email", subject="Your receipt", body="Paid")
    return {"news": news, "receipt": receipt}


@pytest.fixture(scope="module")
async def public(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials at all, as a mail provider's unsubscribe request has."""
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as http:
        yield http


@pytest.fixture
async def hooked(receiver: Receiver, webhooks: Webhooks) -> AsyncIterator[str]:
    path = hook_path("unsubscribe")
    created = await webhooks.create(receiver.url(path), ["email.unsubscribed"])
    await receiver.trust(path, created["secret"])
    yield path
    await webhooks.delete(created["id"])


def link_of(mail: dict[str, object]) -> str:
    headers = mail["headers"]
    assert isinstance(headers, dict)
    assert headers["List-Unsubscribe-Post"] == ONE_CLICK_BODY
    found = re.fullmatch(r"<(https?://[^>]+)>", headers["List-Unsubscribe"])
    assert found, headers["List-Unsubscribe"]
    return found.group(1)


async def test_the_header_link_opts_out_of_the_category_and_transactional_mail_still_flows(
    api: Api,
    mailbox: Mailbox,
    public: httpx.AsyncClient,
    receiver: Receiver,
    hooked: str,
    stack: Stack,
    category: str,
    templates: dict[str, str],
) -> None:
    user = await api.create_user(email=f"{unique('reader')}@example.com")
    await api.wait_for_status(await api.send_queued(user_id=user["id"], channel="email", template=templates["news"]))
    [mail] = await mailbox.wait_for(user["email"])
    link = link_of(mail)
    assert link.startswith(f"{stack.url('gateway')}/u/")

    page = await public.get(link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text
    untouched = await api.http.get(f"/v1/users/{user['id']}")
    assert untouched.json()["preferences"]["categories"] == {}  # a GET changes nothing

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    first = await public.post(link, content=ONE_CLICK_BODY, headers=headers)
    again = await public.post(link, content=ONE_CLICK_BODY, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert "location" not in first.headers

    skipped = await api.send(user_id=user["id"], channel="email", template=templates["news"])
    assert skipped.status_code == 202, skipped.text
    assert (skipped.json()["status"], skipped.json()["reason"]) == ("skipped", "category_opt_out")
    receipt = await api.send_queued(user_id=user["id"], channel="email", template=templates["receipt"])
    assert (await api.wait_for_status(receipt))["status"] == "delivered"
    delivered = await mailbox.wait_for(user["email"], count=2)
    assert "List-Unsubscribe" not in delivered[-1]["headers"]
    preferences = (await api.http.get(f"/v1/users/{user['id']}")).json()["preferences"]
    assert preferences["categories"] == {category: {"email": False, "push": True}}
    assert preferences["email"] is True  # never a suppression or a channel switch

    [event] = await receiver.wait_for(hooked, lambda found: any(map(of_type("email.unsubscribed"), found)))
    assert body(event)["data"] == {"user_id": user["id"], "category": category, "notification_id": None}
    await asyncio.sleep(1)  # the repeated POST changed nothing, so it told nobody
    assert len(await receiver.deliveries(hooked)) == 1


async def test_a_forged_or_mangled_link_is_404_and_changes_nothing(
    api: Api, mailbox: Mailbox, public: httpx.AsyncClient, templates: dict[str, str]
) -> None:
    user = await api.create_user(email=f"{unique('reader')}@example.com")
    await api.send_queued(user_id=user["id"], channel="email", template=templates["news"])
    link = link_of((await mailbox.wait_for(user["email"]))[0])
    kid, payload, mac = link.rsplit("/", 1)[1].split(".")
    forged = link.rsplit("/", 1)[0] + f"/{kid}.{payload}.{'A' * len(mac)}"

    for url in (forged, forged.replace(f"/{kid}.", "/retired."), link + "x", link.rsplit("/", 1)[0] + "/nonsense"):
        response = await public.post(url, content=b"")
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
    assert (await public.post(link, content=b"x" * 2048)).status_code == 413
    assert (await api.http.get(f"/v1/users/{user['id']}")).json()["preferences"]["categories"] == {}


async def test_a_complaint_blocks_non_transactional_mail_only(
    api: Api, mailbox: Mailbox, receiver: Receiver, templates: dict[str, str]
) -> None:
    user = await api.create_user(email=f"{unique('complain')}@example.com")
    await api.send_queued(user_id=user["id"], channel="email", template=templates["receipt"])

    deadline = asyncio.get_running_loop().time() + REPORT_SECONDS
    while (await api.http.get("/v1/suppressions", params={"reason": "complaint"})).json()["items"] == [] or not any(
        item["address"] == user["email"]
        for item in (await api.http.get("/v1/suppressions", params={"reason": "complaint", "limit": 100})).json()[
            "items"
        ]
    ):
        assert asyncio.get_running_loop().time() < deadline, "no complaint suppression"
        await asyncio.sleep(0.2)

    news = await api.send(user_id=user["id"], channel="email", template=templates["news"])
    assert (news.json()["status"], news.json()["reason"]) == ("skipped", "suppressed")
    receipt = await api.send_queued(user_id=user["id"], channel="email", template=templates["receipt"])
    assert (await api.wait_for_status(receipt))["status"] == "delivered"


async def test_categories_are_listed_with_the_built_in_one_and_unknown_ones_are_422(api: Api, category: str) -> None:
    listed = (await api.http.get("/v1/categories")).json()["items"]
    keys = {item["key"]: item["transactional"] for item in listed}
    assert keys["transactional"] is True
    assert keys[category] is False

    unknown = await api.http.post(
        "/v1/templates",
        json={"slug": unique("x"), "channel": "email", "subject": "s", "body": "b", "category": unique("nope")},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "category"
    builtin = await api.http.put("/v1/categories/transactional", json={"name": "Mine", "transactional": False})
    assert builtin.status_code == 422
