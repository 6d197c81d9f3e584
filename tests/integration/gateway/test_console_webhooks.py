"""The console's webhooks: a key holding only ``webhooks:manage`` sees its endpoints and their deliveries, and a
failed delivery's retry button makes it due again (audited)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.test_applications import new_application, new_key
from tests.integration.gateway.test_console import csrf_of, sign_in
from tests.integration.gateway.test_webhooks import add_delivery, delivery_row, register


@pytest.fixture
async def webhook_key(gateway: Gateway) -> str:
    application = await new_application(gateway.client)
    key: str = (await new_key(gateway.client, application["id"], ["webhooks:manage"]))["key"]
    return key


@pytest.fixture
async def browser(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway") as client:
        yield client


async def test_a_failed_delivery_is_retried_from_the_console(
    browser: httpx.AsyncClient, gateway: Gateway, webhook_key: str
) -> None:
    endpoint = await register(gateway.client, {"X-API-Key": webhook_key})
    failed = await add_delivery(gateway, endpoint, status="failed", event_at=datetime.now(UTC), next_attempt_at=None)
    signed_in = await sign_in(browser, webhook_key, next_path="/console/")
    assert signed_in.headers["location"] == "/console/webhooks"  # the first page this key may see

    listing = await browser.get("/console/webhooks")
    assert endpoint["url"] in listing.text
    assert "Templates" not in listing.text
    page = await browser.get(f"/console/webhooks/{endpoint['id']}")
    assert page.status_code == 200
    assert f"Retry delivery {failed}" in page.text

    retried = await browser.post(
        f"/console/webhooks/{endpoint['id']}/deliveries/{failed}/retry", data={"csrf_token": csrf_of(page)}
    )
    assert retried.status_code == 303
    assert "Retry+queued" in retried.headers["location"].replace("%20", "+")
    row = await delivery_row(gateway, failed)
    assert row["status"] == "pending"
    assert row["next_attempt_at"] <= datetime.now(UTC)
    audit = await browser.get("/console/audit")
    assert "webhook.delivery.retry" in audit.text
    assert "202 ok" in audit.text
