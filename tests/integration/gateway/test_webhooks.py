"""Webhook endpoints and their deliveries through the REST API, against the real servers (docs/api.md
"Webhooks"): registering with secrets shown once, URL and event checks with WEBHOOK_ALLOW_PRIVATE off (the
session gateway) and on, the cap, rotation, the test delivery, the deliveries list, retry and replay, and the
confinement to the caller's application. The rows webhook_worker would write are written here directly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from common.webhook_events import delivery_body
from devstack.infra import Infra
from gateway.webhooks.store import MAX_ENDPOINTS_PER_APPLICATION
from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway
from tests.integration.gateway.test_applications import new_application, new_key
from tests.integration.gateway.test_edge import assert_problem
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService

PUBLIC_URL = "https://93.184.215.14/hooks"
"""A public address given literally: accepted without a DNS lookup, which this machine may not have."""
EVENTS = ["notification.delivered", "notification.failed"]


@pytest.fixture
async def app_key(gateway: Gateway) -> dict[str, str]:
    """The headers of a key of a fresh application holding only webhooks:manage."""
    application = await new_application(gateway.client)
    key = await new_key(gateway.client, application["id"], ["webhooks:manage"])
    return {"X-API-Key": key["key"]}


@pytest.fixture(scope="module")
async def private_gateway(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService
) -> AsyncIterator[Gateway]:
    """A gateway with WEBHOOK_ALLOW_PRIVATE=1, as on the local stack."""
    settings = gateway_settings(infra, users=user_service, templates=template_service, webhook_allow_private=True)
    async with running_gateway(settings) as running:
        yield running


async def register(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": PUBLIC_URL, "events": EVENTS, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_delivery(
    gateway: Gateway, endpoint: dict[str, Any], *, status: str, event_at: datetime, next_attempt_at: datetime | None
) -> uuid.UUID:
    """A delivery row as webhook_worker would leave it."""
    row = await gateway.resources.db.fetchrow(
        "SELECT application_id FROM webhook_endpoints WHERE id = $1", uuid.UUID(endpoint["id"])
    )
    delivery_id = uuid.uuid4()
    await gateway.resources.db.execute(
        "INSERT INTO webhook_deliveries (id, endpoint_id, application_id, event_type, body, status, attempts,"
        " next_attempt_at, event_at, response_status, last_error)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        delivery_id,
        uuid.UUID(endpoint["id"]),
        row["application_id"],
        "notification.delivered",
        delivery_body("notification.delivered", {"notification_id": str(uuid.uuid4())}, event_at),
        status,
        10 if status == "failed" else 1,
        next_attempt_at,
        event_at,
        500 if status in ("failed", "retrying") else 200,
        "HTTP 500" if status in ("failed", "retrying") else None,
    )
    return delivery_id


async def delivery_row(gateway: Gateway, delivery_id: uuid.UUID | str) -> dict[str, Any]:
    row = await gateway.resources.db.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE id = $1", uuid.UUID(str(delivery_id))
    )
    assert row is not None
    return dict(row)


async def test_an_endpoint_is_registered_read_changed_and_deleted(gateway: Gateway, app_key: dict[str, str]) -> None:
    client = gateway.client
    created = await register(client, app_key, description="orders")
    assert created["secret"].startswith("whsec_")
    assert created["url"] == PUBLIC_URL
    assert created["events"] == EVENTS
    assert created["enabled"] is True
    assert created["description"] == "orders"
    assert created["failing_since"] is None
    assert created["previous_secret_expires_at"] is None
    path = f"/v1/webhooks/{created['id']}"

    shown = (await client.get(path, headers=app_key)).json()
    assert "secret" not in shown
    assert shown == {key: value for key, value in created.items() if key != "secret"}
    listed = (await client.get("/v1/webhooks", headers=app_key)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None

    changed = await client.patch(
        path, json={"events": ["notification.queued"], "description": None, "enabled": False}, headers=app_key
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["notification.queued"]
    assert changed.json()["description"] is None
    assert changed.json()["enabled"] is False
    assert changed.json()["url"] == PUBLIC_URL
    assert changed.json()["updated_at"] > created["updated_at"]

    for refused_change in ({"url": None}, {"events": None}, {"enabled": None}, {"description": "x" * 501}, {"id": "x"}):
        assert_problem(await client.patch(path, json=refused_change, headers=app_key), 422)

    assert (await client.delete(path, headers=app_key)).status_code == 204
    assert_problem(await client.get(path, headers=app_key), 404)
    assert_problem(await client.delete(path, headers=app_key), 404)


async def test_the_list_pages_oldest_first(gateway: Gateway, app_key: dict[str, str]) -> None:
    ids = [(await register(gateway.client, app_key))["id"] for _ in range(3)]
    first = (await gateway.client.get("/v1/webhooks", params={"limit": 2}, headers=app_key)).json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    second = (
        await gateway.client.get("/v1/webhooks", params={"limit": 2, "cursor": first["next_cursor"]}, headers=app_key)
    ).json()
    assert [item["id"] for item in second["items"]] == ids[2:]
    assert second["next_cursor"] is None


async def test_another_applications_endpoint_is_404_like_an_unknown_one(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    theirs = await register(gateway.client, app_key)
    delivery = (await gateway.client.post(f"/v1/webhooks/{theirs['id']}/test", headers=app_key)).json()
    base = f"/v1/webhooks/{theirs['id']}"
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery['id']}", None),
        ("POST", f"{base}/deliveries/{delivery['id']}/retry", None),
        ("POST", f"{base}/replay", {"since": "2020-01-01T00:00:00Z"}),
    ]
    for method, path, body in calls:  # the session client's key is the default application's
        refused = assert_problem(await gateway.client.request(method, path, json=body), 404)
        assert refused["type"] == "/problems/not-found"
    listed = (await gateway.client.get("/v1/webhooks", params={"limit": 100})).json()
    assert theirs["id"] not in {item["id"] for item in listed["items"]}
    still = (await gateway.client.get(base, headers=app_key)).json()
    assert still["enabled"] is True
    assert (await delivery_row(gateway, delivery["id"]))["status"] == "pending"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hooks", "https://"),
        ("https://127.0.0.1/hooks", "not public"),
        ("https://10.1.2.3/hooks", "not public"),
        ("https://[::1]/hooks", "not public"),
        ("https://localhost/hooks", "not public"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
        ("https://user:secret@93.184.215.14/hooks", "credentials"),
        ("https:///hooks", "no host"),
        ("not a url", "https://"),
    ],
)
async def test_without_allow_private_only_public_https_urls_are_accepted(
    gateway: Gateway, app_key: dict[str, str], url: str, reason: str
) -> None:
    refused = assert_problem(
        await gateway.client.post("/v1/webhooks", json={"url": url, "events": EVENTS}, headers=app_key), 422
    )
    assert [error["field"] for error in refused["errors"]] == ["url"]
    assert reason in refused["errors"][0]["message"]
    assert (await gateway.client.get("/v1/webhooks", headers=app_key)).json()["items"] == []


async def test_a_change_of_url_is_checked_like_a_new_one(gateway: Gateway, app_key: dict[str, str]) -> None:
    created = await register(gateway.client, app_key)
    path = f"/v1/webhooks/{created['id']}"
    refused = assert_problem(
        await gateway.client.patch(path, json={"url": "https://127.0.0.1/x"}, headers=app_key), 422
    )
    assert refused["errors"][0]["field"] == "url"
    assert (await gateway.client.get(path, headers=app_key)).json()["url"] == PUBLIC_URL


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9098/hooks", "http://localhost:9098/hooks", "https://10.1.2.3/hooks", PUBLIC_URL]
)
async def test_with_allow_private_loopback_and_private_addresses_are_accepted(
    private_gateway: Gateway, url: str
) -> None:
    application = await new_application(private_gateway.client)
    key = await new_key(private_gateway.client, application["id"], ["webhooks:manage"])
    created = await register(private_gateway.client, {"X-API-Key": key["key"]}, url=url)
    assert created["url"] == url


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hooks", "http://0.0.0.0/hooks", "http://224.0.0.1/hooks"])
async def test_with_allow_private_other_schemes_and_unroutable_addresses_are_still_refused(
    private_gateway: Gateway, url: str
) -> None:
    refused = assert_problem(
        await private_gateway.client.post("/v1/webhooks", json={"url": url, "events": EVENTS}), 422
    )
    assert refused["errors"][0]["field"] == "url"


async def test_an_unknown_event_type_is_named(gateway: Gateway, app_key: dict[str, str]) -> None:
    body = {"url": PUBLIC_URL, "events": ["notification.delivered", "notification.exploded"]}
    refused = assert_problem(await gateway.client.post("/v1/webhooks", json=body, headers=app_key), 422)
    assert [error["field"] for error in refused["errors"]] == ["events"]
    assert "notification.exploded" in refused["errors"][0]["message"]
    for empty in ([], None):
        assert_problem(await gateway.client.post("/v1/webhooks", json={**body, "events": empty}, headers=app_key), 422)


async def test_events_are_kept_once_and_a_star_means_all(gateway: Gateway, app_key: dict[str, str]) -> None:
    twice = await register(gateway.client, app_key, events=["webhook.test", "email.complained", "webhook.test"])
    assert twice["events"] == ["webhook.test", "email.complained"]
    everything = await register(gateway.client, app_key, events=["notification.queued", "*"])
    assert everything["events"] == ["*"]


async def test_an_application_has_at_most_the_documented_number_of_endpoints_even_when_racing(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    body = {"url": PUBLIC_URL, "events": EVENTS}
    answers = await asyncio.gather(
        *(
            gateway.client.post("/v1/webhooks", json=body, headers=app_key)
            for _ in range(MAX_ENDPOINTS_PER_APPLICATION + 5)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201] * MAX_ENDPOINTS_PER_APPLICATION + [409] * 5
    refused = assert_problem(await gateway.client.post("/v1/webhooks", json=body, headers=app_key), 409)
    assert refused["type"] == "/problems/webhook-limit-reached"
    first = (await gateway.client.get("/v1/webhooks", headers=app_key)).json()["items"][0]
    assert (await gateway.client.delete(f"/v1/webhooks/{first['id']}", headers=app_key)).status_code == 204
    await register(gateway.client, app_key)


async def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_signing_for_a_day(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    created = await register(gateway.client, app_key)
    before = datetime.now(UTC)
    response = await gateway.client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=app_key)
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(hours=24) - timedelta(seconds=5) < expires - before < timedelta(hours=24, seconds=5)
    row = await gateway.resources.db.fetchrow(
        "SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = $1",
        uuid.UUID(created["id"]),
    )
    assert (row["secret"], row["previous_secret"], row["previous_secret_until"]) == (
        rotated["secret"],
        created["secret"],
        expires,
    )
    shown = (await gateway.client.get(f"/v1/webhooks/{created['id']}", headers=app_key)).json()
    assert "secret" not in shown
    assert shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]


async def test_a_test_event_is_a_delivery_due_now_with_the_documented_body(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    created = await register(gateway.client, app_key, events=["notification.failed"])
    response = await gateway.client.post(f"/v1/webhooks/{created['id']}/test", headers=app_key)
    assert response.status_code == 202, response.text
    answered = response.json()
    assert answered["event_type"] == "webhook.test"
    assert answered["status"] == "pending"
    assert answered["attempts"] == 0
    row = await delivery_row(gateway, answered["id"])
    assert row["endpoint_id"] == uuid.UUID(created["id"])
    assert row["status"] == "pending"
    assert row["next_attempt_at"] <= datetime.now(UTC)
    body = orjson.loads(row["body"])
    assert body["type"] == "webhook.test"
    assert body["data"]["webhook_id"] == created["id"]
    assert body["timestamp"].endswith("Z")
    assert datetime.fromisoformat(body["timestamp"]) == row["event_at"]

    shown = (
        await gateway.client.get(f"/v1/webhooks/{created['id']}/deliveries/{answered['id']}", headers=app_key)
    ).json()
    assert shown["body"].encode() == row["body"]
    assert shown["last_error"] is None
    listed = (await gateway.client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=app_key)).json()
    assert listed["items"] == [answered]


async def test_a_disabled_endpoint_is_sent_nothing_until_enabled_again(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    created = await register(gateway.client, app_key)
    path = f"/v1/webhooks/{created['id']}"
    await gateway.resources.db.execute(
        "UPDATE webhook_endpoints SET enabled = false, failing_since = now() - interval '3 days',"
        " disabled_reason = 'failing for 3 days' WHERE id = $1",
        uuid.UUID(created["id"]),
    )
    disabled = (await gateway.client.get(path, headers=app_key)).json()
    assert disabled["enabled"] is False
    assert disabled["disabled_reason"] == "failing for 3 days"
    assert disabled["failing_since"] is not None
    for action in ("test", "replay"):
        assert_problem(
            await gateway.client.post(f"{path}/{action}", json={"since": "2020-01-01T00:00:00Z"}, headers=app_key), 409
        )

    enabled = (await gateway.client.patch(path, json={"enabled": True}, headers=app_key)).json()
    assert (enabled["enabled"], enabled["failing_since"], enabled["disabled_reason"]) == (True, None, None)
    assert (await gateway.client.post(f"{path}/test", headers=app_key)).status_code == 202


async def test_deliveries_filter_by_status_and_time_and_page_newest_first(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    endpoint = await register(gateway.client, app_key)
    now = datetime.now(UTC)
    failed = await add_delivery(gateway, endpoint, status="failed", event_at=now, next_attempt_at=None)
    ids = [
        (await gateway.client.post(f"/v1/webhooks/{endpoint['id']}/test", headers=app_key)).json()["id"]
        for _ in range(3)
    ]
    path = f"/v1/webhooks/{endpoint['id']}/deliveries"

    only_failed = (await gateway.client.get(path, params={"status": "failed"}, headers=app_key)).json()
    assert [item["id"] for item in only_failed["items"]] == [str(failed)]
    assert only_failed["items"][0]["response_status"] == 500
    later = (
        await gateway.client.get(path, params={"after": (now + timedelta(hours=1)).isoformat()}, headers=app_key)
    ).json()
    assert later["items"] == []

    first = (await gateway.client.get(path, params={"limit": 2, "status": "pending"}, headers=app_key)).json()
    second = (
        await gateway.client.get(
            path, params={"limit": 2, "status": "pending", "cursor": first["next_cursor"]}, headers=app_key
        )
    ).json()
    assert [item["id"] for item in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert_problem(await gateway.client.get(path, params={"cursor": "not-a-cursor"}, headers=app_key), 422)
    assert_problem(await gateway.client.get(path, params={"status": "lost"}, headers=app_key), 422)


async def test_a_retry_makes_the_same_delivery_due_now(gateway: Gateway, app_key: dict[str, str]) -> None:
    endpoint = await register(gateway.client, app_key)
    now = datetime.now(UTC)
    failed = await add_delivery(gateway, endpoint, status="failed", event_at=now, next_attempt_at=None)
    waiting = await add_delivery(
        gateway, endpoint, status="retrying", event_at=now, next_attempt_at=now + timedelta(hours=3)
    )
    base = f"/v1/webhooks/{endpoint['id']}/deliveries"

    response = await gateway.client.post(f"{base}/{failed}/retry", headers=app_key)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == str(failed)
    assert response.json()["status"] == "pending"
    row = await delivery_row(gateway, failed)
    assert row["status"] == "pending"
    assert row["attempts"] == 10
    assert row["next_attempt_at"] <= datetime.now(UTC)

    moved = (await gateway.client.post(f"{base}/{waiting}/retry", headers=app_key)).json()
    assert moved["status"] == "retrying"
    assert (await delivery_row(gateway, waiting))["next_attempt_at"] <= datetime.now(UTC)
    assert_problem(await gateway.client.post(f"{base}/{uuid.uuid4()}/retry", headers=app_key), 404)


async def test_a_replay_puts_the_final_deliveries_since_a_time_back_to_pending(
    gateway: Gateway, app_key: dict[str, str]
) -> None:
    endpoint = await register(gateway.client, app_key)
    other = await register(gateway.client, app_key)
    now = datetime.now(UTC)
    since = now - timedelta(hours=2)
    old = await add_delivery(
        gateway, endpoint, status="failed", event_at=now - timedelta(hours=3), next_attempt_at=None
    )
    succeeded = await add_delivery(gateway, endpoint, status="succeeded", event_at=since, next_attempt_at=None)
    failed = await add_delivery(
        gateway, endpoint, status="failed", event_at=now - timedelta(hours=1), next_attempt_at=None
    )
    waiting = await add_delivery(
        gateway,
        endpoint,
        status="retrying",
        event_at=now - timedelta(hours=1),
        next_attempt_at=now + timedelta(hours=1),
    )
    elsewhere = await add_delivery(gateway, other, status="failed", event_at=now, next_attempt_at=None)

    response = await gateway.client.post(
        f"/v1/webhooks/{endpoint['id']}/replay", json={"since": since.isoformat()}, headers=app_key
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"replayed": 2}
    for replayed in (succeeded, failed):
        row = await delivery_row(gateway, replayed)
        assert row["status"] == "pending"
        assert row["attempts"] == 0  # a full retry ladder again
        assert row["next_attempt_at"] <= datetime.now(UTC)
    assert (await delivery_row(gateway, old))["status"] == "failed"
    assert (await delivery_row(gateway, waiting))["status"] == "retrying"
    assert (await delivery_row(gateway, elsewhere))["status"] == "failed"
    refused = assert_problem(
        await gateway.client.post(
            f"/v1/webhooks/{endpoint['id']}/replay", json={"since": "yesterday"}, headers=app_key
        ),
        422,
    )
    assert refused["errors"][0]["field"] == "since"


async def test_deleting_an_endpoint_deletes_its_deliveries(gateway: Gateway, app_key: dict[str, str]) -> None:
    endpoint = await register(gateway.client, app_key)
    delivery = (await gateway.client.post(f"/v1/webhooks/{endpoint['id']}/test", headers=app_key)).json()
    assert (await gateway.client.delete(f"/v1/webhooks/{endpoint['id']}", headers=app_key)).status_code == 204
    assert (
        await gateway.resources.db.fetchval("SELECT 1 FROM webhook_deliveries WHERE id = $1", uuid.UUID(delivery["id"]))
        is None
    )
