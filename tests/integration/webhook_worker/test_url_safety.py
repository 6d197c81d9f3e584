"""URL safety at connection time: with ``WEBHOOK_ALLOW_PRIVATE=0`` a name that resolves to a private address is
refused when the worker connects (not only when the URL was registered), as is a private address in the URL."""

from __future__ import annotations

import asyncpg
import pytest

from common.webhook_urls import WebhookUrlRefused
from tests.integration.webhook_worker.support import add_endpoint, add_event, final
from tests.support.webhook_receiver import WebhookReceiver
from webhook_worker.resolver import CheckedResolver


async def test_a_name_resolving_to_a_private_address_is_refused(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    port = receiver.base.rsplit(":", 1)[1]
    by_name = await add_endpoint(pool, f"https://localhost:{port}/ok/by-name")
    by_address = await add_endpoint(pool, f"https://127.0.0.1:{port}/ok/by-address")
    await add_event(pool)

    async with worker(allow_private=False, retry_schedule=""):
        [refused_name] = await final(pool, by_name["id"])
        [refused_address] = await final(pool, by_address["id"])

    assert refused_name["status"] == "failed"
    assert refused_name["last_error"] == "refused: the URL localhost resolves to an address that is not public"
    assert refused_address["last_error"] == "refused: the URL points at an address that is not public"
    assert receiver.received == []


async def test_the_resolver_answers_only_with_checked_addresses() -> None:
    with pytest.raises(WebhookUrlRefused):
        await CheckedResolver(allow_private=False).resolve("localhost", 443)
    [*answers] = await CheckedResolver(allow_private=True).resolve("localhost", 443)
    assert {answer["host"] for answer in answers} <= {"127.0.0.1", "::1"}
    assert {answer["hostname"] for answer in answers} == {"localhost"}
