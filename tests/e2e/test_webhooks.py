"""Webhooks through the whole stack: what an endpoint at the dev webhook receiver is told about a send, signed;
a failing endpoint retried on the (scaled-down) ladder, given up, then delivered by a manual retry; a slow
endpoint that does not hold up another; both signatures during a rotation; an endpoint disabled after failing
for the (scaled-down) window. The stack runs with ``WEBHOOK_TIMINGS`` (conftest.py)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from common.settings import DEV_GATEWAY_ADMIN_API_KEY
from devstack.stack import Stack
from gateway.scopes import ALL_SCOPES
from notify_client import verify
from tests.e2e.api import Api, gateway_client, unique
from tests.e2e.conftest import WEBHOOK_TIMINGS
from tests.e2e.webhooks import Receiver, Webhooks, body, hook_path, of_type

LADDER = [float(step) for step in WEBHOOK_TIMINGS["WEBHOOK_RETRY_SCHEDULE"].split(",")]
SLOW_SECONDS = 3.0
BURST = 8

Endpoint = Callable[..., Awaitable[tuple[str, dict[str, Any]]]]


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[Api]:
    """A client of an application of this module's own: its endpoints are told only of the sends made here, not
    of the other tests' notifications of the shared stack (their retries and deliveries would open the failing
    endpoint's breaker and hold this module's deliveries back)."""
    async with gateway_client(stack.url("gateway"), DEV_GATEWAY_ADMIN_API_KEY) as admin:
        created = await admin.post("/v1/applications", json={"name": unique("webhooks")})
        assert created.status_code == 201, created.text
        keys = f"/v1/applications/{created.json()['id']}/keys"
        key = await admin.post(keys, json={"name": "e2e webhooks", "scopes": sorted(ALL_SCOPES)})
        assert key.status_code == 201, key.text
    async with gateway_client(stack.url("gateway"), key.json()["key"]) as http:
        yield Api(http)


@pytest.fixture(scope="module")
def webhooks(api: Api) -> Webhooks:
    return Webhooks(api.http)


@pytest.fixture(scope="module")
async def slug(api: Api) -> str:
    name = unique("hooked")
    await api.create_template(slug=name, channel="email", subject="Hi {{ name }}", body="Hello {{ name }}")
    return name


@pytest.fixture
async def endpoint(receiver: Receiver, webhooks: Webhooks) -> AsyncIterator[Endpoint]:
    """Make an endpoint at a fresh receiver path whose secret the receiver trusts: ``await endpoint(events)`` →
    (path, endpoint with its secret). Each is deleted, and its receiver rules dropped, after the test."""
    made: list[tuple[str, str]] = []

    async def make(events: list[str], prefix: str = "e2e") -> tuple[str, dict[str, Any]]:
        path = hook_path(prefix)
        created = await webhooks.create(receiver.url(path), events)
        await receiver.trust(path, created["secret"])
        made.append((path, created["id"]))
        return path, created

    yield make
    for path, endpoint_id in made:
        await webhooks.delete(endpoint_id)
        await receiver.behave_normally(path)


async def send(api: Api, slug: str) -> str:
    user = await api.create_user()
    return await api.send_queued(user_id=user["id"], channel="email", template=slug, variables={"name": "Ada"})


async def answer_times(webhooks: Webhooks, endpoint_id: str, count: int, timeout: float = 60) -> list[int]:
    """``response_ms`` of the endpoint's succeeded deliveries, once there are ``count`` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answered = [
            item["response_ms"] for item in await webhooks.deliveries(endpoint_id) if item["status"] == "succeeded"
        ]
        if len(answered) >= count or asyncio.get_running_loop().time() > deadline:
            return answered
        await asyncio.sleep(0.2)


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


async def test_a_send_is_told_queued_then_delivered_signed(
    api: Api, receiver: Receiver, endpoint: Endpoint, slug: str
) -> None:
    path, created = await endpoint(["notification.queued", "notification.delivered"])
    assert created["secret"].startswith("whsec_")

    notification_id = await send(api, slug)

    status = await api.wait_for_status(notification_id, "delivered")

    found = await receiver.wait_for(path, lambda items: len(items) >= 2)
    [queued] = filter(of_type("notification.queued", notification_id), found)
    [delivered] = filter(of_type("notification.delivered", notification_id), found)
    for delivery in (queued, delivered):
        assert (delivery["verified"], delivery["answer"]) == (True, 204), delivery
        assert delivery["headers"]["webhook-signature"].startswith("v1,")
        assert delivery["headers"]["content-type"].startswith("application/json")
    assert body(queued)["data"]["event"]["status"] == "queued"
    told = body(delivered)["data"]
    assert {key: told[key] for key in ("notification_id", "status", "delivered_at", "attempts")} == {
        key: status[key] for key in ("notification_id", "status", "delivered_at", "attempts")
    }
    assert told["event"]["status"] == "delivered"
    assert body(queued)["data"]["event"]["sequence"] < told["event"]["sequence"]
    await asyncio.sleep(0.5)  # nothing else arrives: sending is not subscribed
    assert len(await receiver.deliveries(path)) == 2
    for delivery, event_type in ((queued, "notification.queued"), (delivered, "notification.delivered")):
        recorded = await api.http.get(f"/v1/webhooks/{created['id']}/deliveries/{delivery['webhook_id']}")
        assert recorded.status_code == 200, recorded.text
        assert (recorded.json()["event_type"], recorded.json()["status"]) == (event_type, "succeeded")


async def test_the_test_route_sends_a_signed_webhook_test(api: Api, receiver: Receiver, endpoint: Endpoint) -> None:
    path, created = await endpoint(["notification.failed"])

    response = await api.http.post(f"/v1/webhooks/{created['id']}/test")

    assert response.status_code in (200, 202), response.text
    [delivery] = await receiver.wait_for(path, lambda items: len(items) >= 1)
    assert (delivery["type"], delivery["verified"]) == ("webhook.test", True)


async def test_a_failing_endpoint_is_retried_on_the_ladder_then_failed_then_retried_by_hand(
    api: Api, receiver: Receiver, webhooks: Webhooks, endpoint: Endpoint, slug: str
) -> None:
    path, created = await endpoint(["notification.delivered"], "failing")
    await receiver.behave(path, status=500)

    await api.wait_for_status(await send(api, slug), "delivered")

    given_up = await webhooks.wait_for_delivery(created["id"], "failed", timeout=30)
    assert (given_up["attempts"], given_up["response_status"]) == (len(LADDER) + 1, 500)
    attempts = await receiver.deliveries(path)
    assert len(attempts) == len(LADDER) + 1
    assert {item["webhook_id"] for item in attempts} == {given_up["id"]}
    assert all(item["verified"] for item in attempts)
    waits = [seconds_between(a["received_at"], b["received_at"]) for a, b in itertools.pairwise(attempts)]
    assert all(wait >= step * 0.9 for wait, step in zip(waits, LADDER, strict=True)), (waits, LADDER)

    await receiver.behave_normally(path)
    await webhooks.retry(created["id"], given_up["id"])

    delivered = await webhooks.wait_for_delivery(created["id"], "succeeded")
    assert delivered["id"] == given_up["id"]
    last = (await receiver.deliveries(path))[-1]
    assert (last["webhook_id"], last["answer"], last["verified"]) == (given_up["id"], 204, True)


async def test_a_slow_endpoint_does_not_delay_another(
    api: Api, receiver: Receiver, webhooks: Webhooks, endpoint: Endpoint, slug: str
) -> None:
    slow_path, slow = await endpoint(["notification.delivered"], "slow")
    fast_path, _ = await endpoint(["notification.delivered"], "fast")
    await receiver.behave(slow_path, delay_seconds=SLOW_SECONDS)

    sent = await asyncio.gather(*(send(api, slug) for _ in range(BURST)))

    delivered_at = {nid: (await api.wait_for_status(nid, "delivered"))["delivered_at"] for nid in sent}
    fast = await receiver.wait_for(fast_path, lambda items: len(items) >= BURST)
    fast_lags = [
        seconds_between(delivered_at[body(item)["data"]["notification_id"]], item["received_at"]) for item in fast
    ]
    assert max(fast_lags) < SLOW_SECONDS / 2, fast_lags
    await receiver.wait_for(slow_path, lambda items: len(items) >= BURST, timeout=60)
    slow_answered = await answer_times(webhooks, slow["id"], BURST)
    print(
        f"fast endpoint: delivered → received, max {max(fast_lags):.3f} s; slow endpoint answered in {slow_answered} ms"
    )
    assert len(slow_answered) == BURST
    assert min(slow_answered) >= SLOW_SECONDS * 1000 * 0.95


async def test_both_secrets_sign_during_a_rotation(
    api: Api, receiver: Receiver, webhooks: Webhooks, endpoint: Endpoint, slug: str
) -> None:
    path, created = await endpoint(["notification.delivered"], "rotated")
    old = created["secret"]

    new = await webhooks.rotate(created["id"])
    await receiver.trust(path, new)
    await api.wait_for_status(await send(api, slug), "delivered")

    [delivery] = await receiver.wait_for(path, lambda items: len(items) >= 1)
    assert new != old
    assert len(delivery["headers"]["webhook-signature"].split()) == 2
    assert delivery["matching_secrets"] == 2
    for secret in (old, new):
        verify(secret, delivery["headers"], delivery["body"].encode())


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(
    api: Api, receiver: Receiver, webhooks: Webhooks, endpoint: Endpoint, slug: str
) -> None:
    path, created = await endpoint(["notification.queued"], "dead")
    await receiver.behave(path, status=503)
    window = float(WEBHOOK_TIMINGS["WEBHOOK_DISABLE_AFTER_SECONDS"])

    deadline = asyncio.get_running_loop().time() + window + 20
    while (current := await webhooks.get(created["id"]))["enabled"]:
        assert asyncio.get_running_loop().time() < deadline, f"still enabled after {window + 20}s: {current}"
        await send(api, slug)
        await asyncio.sleep(0.5)
    assert current["disabled_reason"], current
    first = (await receiver.deliveries(path))[0]
    assert seconds_between(first["received_at"], current["updated_at"]) >= window * 0.9

    arrived = len(await receiver.deliveries(path))
    await send(api, slug)
    await asyncio.sleep(1.0)
    assert len(await receiver.deliveries(path)) <= arrived + 1  # at most one already claimed when it was disabled
