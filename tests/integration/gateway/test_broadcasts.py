"""Topic sends through a real gateway, user_svc, template_svc, Postgres and RabbitMQ: the broadcast and its
fan-out (driven here with ``resources.fan_out``), exactly one notification per subscriber, its counters, list and
cancel, and the lease that keeps a second fan-out off a claimed broadcast until it lapses."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.audiences import seed_users, subscribe_all
from common.ids import new_notification_id
from devstack.infra import AmqpSession, Infra
from gateway.broadcasts.ids import id_key, recipient_id
from gateway.broadcasts.store import BroadcastStore
from tests.integration.delivery.support import eventually
from tests.integration.gateway.harness import VARIABLES, Gateway, create_user
from tests.integration.gateway.test_batch import listed
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_topics import create_topic, new_key, subscribe
from tests.integration.gateway.webhook_outbox import drop_application, new_application
from tests.integration.gateway.webhook_outbox import subscribe as subscribe_endpoint

pytestmark = pytest.mark.usefixtures("templates")

SEND = "/v1/notifications/send"
OTHER_OWNER = "test-fan-out-elsewhere"


def topic_body(key: str, **changes: Any) -> dict[str, Any]:
    return {"to": {"topic": key}, "channel": "email", "template": "welcome", "variables": VARIABLES, **changes}


async def send_to(gateway: Gateway, key: str, **changes: Any) -> str:
    response = await gateway.client.post(SEND, json=topic_body(key, **changes))
    assert response.status_code == 202, response.text
    answer = response.json()
    broadcast_id = str(answer["broadcast_id"])
    assert answer == {
        "broadcast_id": broadcast_id,
        "status": "fanning_out",
        "status_url": f"/v1/broadcasts/{broadcast_id}",
    }
    return broadcast_id


async def broadcast(gateway: Gateway, broadcast_id: str) -> dict[str, Any]:
    await asyncio.sleep(1.05)  # past the counters' cache
    response = await gateway.client.get(f"/v1/broadcasts/{broadcast_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def rows_by_user(gateway: Gateway, broadcast_id: str) -> Counter[str]:
    query = "SELECT user_id FROM notification_statuses WHERE broadcast_id = $1"
    rows = await gateway.resources.db.fetch(query, uuid.UUID(broadcast_id))
    return Counter(str(row["user_id"]) for row in rows)


async def bulk_topic(gateway: Gateway, infra: Infra, count: int) -> tuple[str, list[str]]:
    """A new topic of ``count`` subscribers written straight into the users database."""
    key = new_key()
    await create_topic(gateway, key)
    users = await seed_users(count, key, infra.database("USER_SVC_DATABASE_URL"))
    await subscribe_all(key, users, infra.database("USER_SVC_DATABASE_URL"))
    return key, users


async def test_every_subscriber_gets_exactly_one_notification(gateway: Gateway, amqp: AmqpSession) -> None:
    key = new_key()
    await create_topic(gateway, key)
    ada = await create_user(gateway.client, name="Ada")
    grace = await create_user(gateway.client, name="Grace")
    opted_out = await create_user(gateway.client, preferences={"email": False, "push": True})
    outsider = await create_user(gateway.client)
    await subscribe(gateway, key, [ada["id"], grace["id"], opted_out["id"]])

    broadcast_id = await send_to(gateway, key, metadata={"campaign": "launch"})
    await gateway.resources.fan_out.drain()

    assert await rows_by_user(gateway, broadcast_id) == Counter({ada["id"]: 1, grace["id"]: 1, opted_out["id"]: 1})
    assert await amqp.depth("email.queue") == 2
    found = await broadcast(gateway, broadcast_id)
    assert found.pop("created_at")
    assert found.pop("completed_at")
    assert found == {
        "id": broadcast_id,
        "topic": key,
        "state": "done",
        "recipients": 3,
        "queued": 2,
        "skipped": 1,
        "delivered": 0,
        "failed": 0,
        "cancelled": 0,
    }
    items = await listed(gateway.client, broadcast_id=broadcast_id)
    assert {item["user_id"] for item in items} == {ada["id"], grace["id"], opted_out["id"]}
    assert outsider["id"] not in {item["user_id"] for item in items}
    assert {item["broadcast_id"] for item in items} == {broadcast_id}
    assert {item["metadata"]["campaign"] for item in items} == {"launch"}
    skipped = [item for item in items if item["status"] == "skipped"]
    assert [(item["user_id"], item["reason"]) for item in skipped] == [(opted_out["id"], "channel_disabled")]


async def test_a_page_written_again_writes_nothing_new(gateway: Gateway, amqp: AmqpSession) -> None:
    key = new_key()
    await create_topic(gateway, key)
    users = [await create_user(gateway.client) for _ in range(2)]
    await subscribe(gateway, key, [user["id"] for user in users])
    broadcast_id = await send_to(gateway, key)
    await gateway.resources.fan_out.drain()
    ids = {
        row["id"]
        for row in await gateway.resources.db.fetch(
            "SELECT id FROM notification_statuses WHERE broadcast_id = $1", uuid.UUID(broadcast_id)
        )
    }
    key_bytes = id_key(gateway.settings.jwt_secret)
    assert ids == {recipient_id(key_bytes, uuid.UUID(broadcast_id), uuid.UUID(user["id"])) for user in users}
    assert {identifier.int >> 80 for identifier in ids} == {uuid.UUID(broadcast_id).int >> 80}

    # as a fan-out resuming from no checkpoint after a crash would: the page again, from the start
    await gateway.resources.db.execute(
        "UPDATE broadcasts SET state = 'fanning_out', checkpoint = NULL, recipients = 0, completed_at = NULL "
        "WHERE id = $1",
        uuid.UUID(broadcast_id),
    )
    await (await amqp.channel.get_queue("email.queue", ensure=False)).purge()
    await gateway.resources.fan_out.drain()

    assert await rows_by_user(gateway, broadcast_id) == Counter({user["id"]: 1 for user in users})
    assert await amqp.depth("email.queue") == 0  # nothing new was written, so nothing was published again
    assert (await broadcast(gateway, broadcast_id))["state"] == "done"


async def test_unknown_topic_or_template_is_refused_up_front(gateway: Gateway) -> None:
    missing = await gateway.client.post(SEND, json=topic_body(new_key()))
    assert_problem(missing, 404)
    key = new_key()
    await create_topic(gateway, key)
    assert_problem(await gateway.client.post(SEND, json=topic_body(key, template="no-such-template")), 404)
    unrendered = await gateway.client.post(SEND, json=topic_body(key, variables={}))
    assert_problem(unrendered, 422)
    both = await gateway.client.post(SEND, json={**topic_body(key), "user_id": str(uuid.uuid4())})
    assert_problem(both, 422)
    assert [error["field"] for error in both.json()["errors"]] == ["to"]
    assert_problem(await gateway.client.get(f"/v1/broadcasts/{uuid.uuid4()}"), 404)
    assert_problem(await gateway.client.post(f"/v1/broadcasts/{uuid.uuid4()}/cancel"), 404)


async def test_an_idempotency_key_answers_the_first_broadcast(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    headers = {"Idempotency-Key": f"topic-{uuid.uuid4()}"}
    first = await gateway.client.post(SEND, json=topic_body(key), headers=headers)
    again = await gateway.client.post(SEND, json=topic_body(key), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    await gateway.resources.fan_out.drain()


async def test_broadcasts_are_listed_newest_first(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    made = [await send_to(gateway, key) for _ in range(3)]
    await gateway.resources.fan_out.drain()
    seen: list[dict[str, Any]] = []
    cursor = None
    while len(seen) < 3:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await gateway.client.get("/v1/broadcasts", params=params)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
    assert [item["id"] for item in seen[:3]] == made[::-1]
    assert {(item["topic"], item["state"], item["recipients"]) for item in seen[:3]} == {(key, "done", 0)}


async def test_a_cancel_stops_the_fan_out_and_cancels_unclaimed_rows(gateway: Gateway, infra: Infra) -> None:
    key, users = await bulk_topic(gateway, infra, 5000)
    broadcast_id = await send_to(gateway, key)
    fanning = asyncio.create_task(gateway.resources.fan_out.drain())
    recipients = "SELECT recipients FROM broadcasts WHERE id = $1"
    await eventually(lambda: gateway.resources.db.fetchval(recipients, uuid.UUID(broadcast_id)), bool)

    cancelled = await gateway.client.post(f"/v1/broadcasts/{broadcast_id}/cancel")
    await fanning

    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    written = await rows_by_user(gateway, broadcast_id)
    assert 0 < len(written) < len(users)
    assert set(written.values()) == {1}
    found = await broadcast(gateway, broadcast_id)
    assert (found["state"], found["recipients"]) == ("cancelled", len(written))
    assert (found["cancelled"], found["queued"]) == (len(written), 0)
    again = await gateway.client.post(f"/v1/broadcasts/{broadcast_id}/cancel")
    assert again.status_code == 202
    assert again.json()["state"] == "cancelled"


async def test_a_leased_broadcast_is_not_claimed_until_its_lease_lapses(gateway: Gateway, infra: Infra) -> None:
    await gateway.resources.fan_out.drain()  # nothing else to claim
    key, users = await bulk_topic(gateway, infra, 1200)
    broadcast_id = await send_to(gateway, key)
    elsewhere = await BroadcastStore(gateway.resources.db).claim(OTHER_OWNER, 60)
    assert elsewhere is not None
    assert str(elsewhere.id) == broadcast_id

    assert await gateway.resources.fan_out.run_once() is False
    assert await rows_by_user(gateway, broadcast_id) == Counter()

    await gateway.resources.db.execute(
        "UPDATE broadcasts SET lease_until = now() - interval '1 second' WHERE id = $1", uuid.UUID(broadcast_id)
    )
    assert await gateway.resources.fan_out.run_once() is True

    assert await rows_by_user(gateway, broadcast_id) == Counter(dict.fromkeys(users, 1))
    found = await broadcast(gateway, broadcast_id)
    assert (found["state"], found["recipients"], found["queued"]) == ("done", 1200, 1200)


async def finish_new_broadcast(gateway: Gateway, application_id: uuid.UUID) -> uuid.UUID:
    """A broadcast of ``application_id`` claimed and finished with no subscriber, as the fan-out finishes one."""
    store = BroadcastStore(gateway.resources.db)
    broadcast_id = new_notification_id()
    content = {"channel": "email", "template": "welcome"}
    await store.create(
        broadcast_id, application_id, "news", content, test_mode=False, request_id=None, created_at=datetime.now(UTC)
    )
    await gateway.resources.db.execute(
        "UPDATE broadcasts SET lease_owner = $2, lease_until = now() + interval '1 minute' WHERE id = $1",
        broadcast_id,
        OTHER_OWNER,
    )
    assert await store.checkpoint(broadcast_id, OTHER_OWNER, None, 0, lease_seconds=5, finished=True) is None
    return broadcast_id


async def test_a_finished_broadcast_writes_its_completed_event_where_subscribed(gateway: Gateway) -> None:
    db = gateway.resources.db
    subscribed, other = await new_application(db), await new_application(db)
    try:
        await subscribe_endpoint(db, subscribed, ["broadcast.completed"])
        await subscribe_endpoint(db, other, ["notification.delivered"])
        broadcast_id = await finish_new_broadcast(gateway, subscribed)
        await finish_new_broadcast(gateway, other)

        events = await db.fetch(
            "SELECT application_id, event_type, data FROM webhook_outbox WHERE application_id = ANY($1::uuid[])",
            [subscribed, other],
        )
        assert [(row["application_id"], row["event_type"]) for row in events] == [(subscribed, "broadcast.completed")]
        data = events[0]["data"]
        assert data.pop("created_at")
        assert data.pop("completed_at")
        assert data == {
            "id": str(broadcast_id),
            "topic": "news",
            "state": "done",
            "recipients": 0,
            "queued": 0,
            "skipped": 0,
            "delivered": 0,
            "failed": 0,
            "cancelled": 0,
        }
        assert_problem(await gateway.client.get(f"/v1/broadcasts/{broadcast_id}"), 404)  # another application's
    finally:
        await db.execute("DELETE FROM broadcasts WHERE application_id = ANY($1::uuid[])", [subscribed, other])
        await db.execute("DELETE FROM webhook_endpoints WHERE application_id = ANY($1::uuid[])", [subscribed, other])
        for application_id in (subscribed, other):
            await drop_application(db, application_id)


async def test_a_topic_deleted_before_its_fan_out_ends_the_broadcast(gateway: Gateway) -> None:
    key = new_key()
    await create_topic(gateway, key)
    user = await create_user(gateway.client)
    await subscribe(gateway, key, [user["id"]])
    broadcast_id = await send_to(gateway, key)
    assert (await gateway.client.delete(f"/v1/topics/{key}")).status_code == 204

    await gateway.resources.fan_out.drain()

    found = await broadcast(gateway, broadcast_id)
    assert (found["state"], found["recipients"]) == ("done", 0)
    assert await rows_by_user(gateway, broadcast_id) == Counter()
