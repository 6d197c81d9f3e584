"""The console's topics and broadcasts: a topic listed with its subscribers, and a broadcast's page polling its
progress (the htmx fragment) while it fans out, then standing still once it is done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway, create_user
from tests.integration.gateway.test_broadcasts import send_to
from tests.integration.gateway.test_console import sign_in
from tests.integration.gateway.test_topics import create_topic, new_key, subscribe

pytestmark = pytest.mark.usefixtures("templates")


@pytest.fixture
async def browser(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway") as client:
        await sign_in(client, ADMIN_API_KEY)
        yield client


async def test_a_broadcast_page_polls_while_it_fans_out_and_stops_when_done(
    browser: httpx.AsyncClient, gateway: Gateway
) -> None:
    key = new_key()
    await create_topic(gateway, key, name="Console news")
    users = [await create_user(gateway.client) for _ in range(2)]
    await subscribe(gateway, key, [user["id"] for user in users])
    topics = await browser.get("/console/topics")
    assert key in topics.text
    assert "Console news" in topics.text

    broadcast_id = await send_to(gateway, key)
    running = await browser.get(f"/console/broadcasts/{broadcast_id}")
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in running.text
    assert "fanning_out" in running.text

    await gateway.resources.fan_out.drain()
    await asyncio.sleep(1.05)  # past the counters' cache
    fragment = await browser.get(f"/console/broadcasts/{broadcast_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "<strong>done</strong>" in fragment.text
    assert "hx-trigger" not in fragment.text  # nothing left to poll for
    assert f'href="/console/broadcasts/{broadcast_id}"' in (await browser.get("/console/topics")).text
