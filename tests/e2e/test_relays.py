"""Relay failover through the whole stack: the email worker given both dev sinks as SMTP_RELAYS (as `make up`
runs it), the primary stopped; mail goes on through the backup, and the history names each relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from devstack.stack import HOST, Stack
from tests.e2e.api import Api, Mailbox


@pytest.fixture
async def two_relays(stack: Stack) -> AsyncIterator[tuple[str, str]]:
    """The stack's email worker restarted with both sinks as its relays, and the primary sink stopped; both
    put back afterwards."""
    primary = f"{HOST}:{stack.environment['SMTP_SINK_PORT']}"
    backup = f"{HOST}:{stack.environment['SMTP_SINK_BACKUP_PORT']}"
    await stack.stop_service("email_worker")
    await stack.start_service("email_worker", environment={"SMTP_RELAYS": f"{primary},{backup}"})
    await stack.stop_service("smtp_sink")
    try:
        yield primary, backup
    finally:
        await stack.start_service("smtp_sink")
        await stack.stop_service("email_worker")
        await stack.start_service("email_worker", environment={})


async def test_with_the_primary_relay_down_mail_goes_through_the_next(
    api: Api, stack: Stack, two_relays: tuple[str, str]
) -> None:
    primary, backup = two_relays
    slug = (await api.create_template(slug=f"relay-{id(api)}", channel="email", subject="Hi", body="Hello"))["slug"]
    user = await api.create_user()

    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)
    status = await api.wait_for_status(notification_id, "delivered")

    assert status["attempts"] == 2
    relays = [(event["status"], event["detail"].get("relay")) for event in await api.events(notification_id)]
    assert ("retrying", primary) in relays
    assert relays[-1] == ("delivered", backup)
    async with httpx.AsyncClient(base_url=stack.url("smtp_sink_backup"), timeout=30) as http:
        [email] = await Mailbox(http).wait_for(user["email"])
    assert email["subject"] == "Hi"
