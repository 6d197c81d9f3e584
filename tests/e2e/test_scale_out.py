"""Beyond one machine (docs/design.md §6): two email_worker processes on the same queue are competing consumers, and
between them every notification is delivered exactly once; one of them dying leaves the other delivering."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.stack import Stack, free_port
from tests.e2e.api import Api, Mailbox, unique

NOTIFICATIONS = 200
USERS = 4
"""The sends are spread over a few users to stay under the per-user rate limit (120 a minute)."""
SECOND = "email_worker_2"


async def delivered_by(worker_url: str) -> float:
    """The worker's ``notifications_delivered_total{channel="email"}``."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{worker_url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "notifications_delivered_total" and sample.labels.get("channel") == "email":
                return sample.value
    return 0.0


@pytest.fixture(scope="module")
async def second_worker(stack: Stack) -> AsyncIterator[str]:
    """A second email_worker (the same Procfile command, its own HTTP port); its base URL."""
    port = free_port()
    await stack.start_service("email_worker", instance=SECOND, environment={"EMAIL_WORKER_PORT": str(port)})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await stack.stop_service(SECOND)


async def test_two_workers_deliver_every_notification_exactly_once(
    api: Api, mailbox: Mailbox, stack: Stack, second_worker: str
) -> None:
    slug = unique("burst")
    await api.create_template(slug=slug, channel="email", subject="#{{ n }}", body="message {{ n }}")
    users = [await api.create_user() for _ in range(USERS)]
    before = {url: await delivered_by(url) for url in (stack.url("email_worker"), second_worker)}
    gate = asyncio.Semaphore(20)

    async def send(n: int) -> str:
        async with gate:
            user = users[n % USERS]
            return await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"n": n})

    ids = await asyncio.gather(*(send(n) for n in range(NOTIFICATIONS)))

    emails = []
    for user in users:
        emails += await mailbox.wait_for(user["email"], NOTIFICATIONS // USERS, timeout=60)
    await asyncio.sleep(0.5)  # a duplicate would arrive right behind
    emails = [email for user in users for email in await mailbox.messages(user["email"])]
    message_ids = [email["message_id"] for email in emails]
    assert len(message_ids) == NOTIFICATIONS
    assert set(message_ids) == {f"<{notification_id}@notifications.local>" for notification_id in ids}
    statuses = await asyncio.gather(*(api.status(notification_id) for notification_id in ids))
    assert {status["status"] for status in statuses} == {"delivered"}
    assert {status["attempts"] for status in statuses} == {1}
    # Exactly once is shown above (one email per id, one attempt each); the counters only show that both
    # workers took a share (they also count other tests' deliveries that finished meanwhile).
    shares = {url: await delivered_by(url) - count for url, count in before.items()}
    assert sum(shares.values()) >= NOTIFICATIONS
    assert all(share > 0 for share in shares.values()), shares


async def test_when_one_worker_is_killed_the_other_keeps_delivering(
    api: Api, mailbox: Mailbox, stack: Stack, second_worker: str
) -> None:
    slug = unique("after-crash")
    await api.create_template(slug=slug, channel="email", subject="still here", body="yes")
    user = await api.create_user()

    await stack.kill_service(SECOND, signal.SIGKILL)
    notification_id = await api.send_queued(user_id=user["id"], channel="email", template=slug)

    await api.wait_for_status(notification_id, "delivered")
    assert len(await mailbox.wait_for(user["email"])) == 1
    assert not stack.processes[SECOND].running
    assert stack.processes["email_worker"].running
    await stack.start_service("email_worker", instance=SECOND)
    assert await delivered_by(second_worker) == 0  # a fresh process
