"""What ``make up`` seeds for webhooks: a demo endpoint of the default application at the dev webhook receiver,
whose secret the receiver is told, so a send to the demo user arrives there verified; seeding again re-keys it."""

from __future__ import annotations

import asyncio
import sys

from devstack.seed import DEMO_WEBHOOK_PATH
from devstack.stack import ROOT, Stack
from tests.e2e.api import Api
from tests.e2e.webhooks import Receiver, Webhooks, of_type


async def run_seed(stack: Stack) -> str:
    """``python -m devstack.seed`` against the stack; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devstack.seed",
        "--url",
        stack.url("gateway"),
        "--receiver",
        stack.url("webhook_receiver"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_the_seeded_demo_endpoint_is_told_about_a_send_verified(
    stack: Stack, api: Api, receiver: Receiver, webhooks: Webhooks
) -> None:
    first = await run_seed(stack)
    again = await run_seed(stack)
    listing = (await api.http.get("/v1/webhooks")).json()["items"]
    [demo] = [item for item in listing if item["url"] == receiver.url(DEMO_WEBHOOK_PATH)]
    try:
        assert f"Demo webhook {demo['id']}" in first
        assert f"Demo webhook {demo['id']}" in again
        user_id = first.split("Demo user: ")[1].split()[0]

        notification_id = await api.send_queued(
            user_id=user_id, channel="email", template="welcome", variables={"name": "Ada", "link": "x"}
        )

        await api.wait_for_status(notification_id, "delivered")
        found = await receiver.wait_for(
            DEMO_WEBHOOK_PATH, lambda items: any(map(of_type("notification.delivered", notification_id), items))
        )
        told = [item for item in found if of_type("notification.delivered", notification_id)(item)]
        assert all(item["verified"] for item in told), told
    finally:
        await webhooks.delete(demo["id"])
        for channel in ("email", "push"):  # the seed's pt-BR welcome would shadow the pt fallback other tests expect
            await api.http.delete("/v1/templates/welcome", params={"channel": channel, "locale": "pt-BR"})
