"""The application is the gateway's unit of isolation: another application's notifications are as unknown as
ones that never existed, deleting a user touches only its own application's rows, the caches and the change
events are per application, and the send path names the application in every Redis key it touches."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest
from redis.crc import key_slot

from common.amqp.topology import EVENTS_EXCHANGE
from common.redis_client import RedisClient
from devstack.infra import AmqpSession
from gateway.errors import ProblemError
from gateway.limits import Verdict
from gateway.login_limits import LoginThrottle
from gateway.notification_filters import NotificationFilters
from gateway.redis_keys import application_limiter, idempotency_record, recipient_limiter
from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import DEFAULT_APPLICATION, Gateway, create_user
from tests.integration.gateway.rows import deliver, insert_queued
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_profiles import caching_gateway  # noqa: F401 - a fixture
from tests.integration.gateway.test_send import send_body
from tests.support.send_gate import send_gate

pytestmark = pytest.mark.usefixtures("templates")


async def test_another_applications_notification_is_404_like_an_unknown_one(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    user_id = uuid.uuid4()
    theirs, _ = await insert_queued(gateway.resources.store, user_id=user_id, application_id=other_application)
    await deliver(gateway.resources.store, theirs)
    unknown = uuid.uuid4()
    for path in ("", "/status", "/events"):
        refused = assert_problem(await gateway.client.get(f"/v1/notifications/{theirs}{path}"), 404)
        never = assert_problem(await gateway.client.get(f"/v1/notifications/{unknown}{path}"), 404)
        assert refused["detail"] == never["detail"].replace(str(unknown), str(theirs))
    listed = await gateway.client.get("/v1/notifications", params={"user_id": str(user_id)})
    assert listed.json() == {"items": [], "next_cursor": None}

    store = gateway.resources.store
    assert (await store.get(other_application, theirs) or {})["status"] == "delivered"
    assert [e["status"] for e in await store.events(other_application, theirs) or []] == [
        "queued",
        "sending",
        "delivered",
    ]
    items, _ = await store.page(other_application, NotificationFilters(user_id=user_id), before=None, limit=10)
    assert [item["notification_id"] for item in items] == [theirs]


async def test_the_list_shows_only_the_callers_application(gateway: Gateway, other_application: uuid.UUID) -> None:
    user_id = uuid.uuid4()
    ours, _ = await insert_queued(gateway.resources.store, user_id=user_id)
    await insert_queued(gateway.resources.store, user_id=user_id, application_id=other_application)
    listed = (await gateway.client.get("/v1/notifications", params={"user_id": str(user_id)})).json()
    assert [item["notification_id"] for item in listed["items"]] == [str(ours)]
    newest = (await gateway.client.get("/v1/notifications", params={"limit": 100})).json()["items"]
    assert all(item["user_id"] != str(user_id) or item["notification_id"] == str(ours) for item in newest)


async def test_deleting_a_user_erases_only_its_applications_rows(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    user_id = uuid.uuid4()  # the same id in both applications (ids are the services' to give; this is the worst case)
    ours, _ = await insert_queued(gateway.resources.store, user_id=user_id)
    theirs, _ = await insert_queued(gateway.resources.store, user_id=user_id, application_id=other_application)
    await gateway.resources.store.erase_user(uuid.UUID(DEFAULT_APPLICATION), user_id)
    query = "SELECT status, reason, envelope IS NULL AS erased FROM notification_statuses WHERE id = $1"
    assert dict(await gateway.resources.db.fetchrow(query, ours)) == {
        "status": "cancelled",
        "reason": "user_deleted",
        "erased": True,
    }
    assert dict(await gateway.resources.db.fetchrow(query, theirs)) == {
        "status": "queued",
        "reason": None,
        "erased": False,
    }


async def test_a_change_event_evicts_the_profile_of_its_own_application_only(
    caching_gateway: Gateway,  # noqa: F811 - the fixture imported above
    amqp: AmqpSession,
) -> None:
    gateway = caching_gateway
    user = await create_user(gateway.client)
    assert (await gateway.client.post("/v1/notifications/send", json=send_body(user))).status_code == 202
    profiles = gateway.resources.profiles
    assert profiles.cached(DEFAULT_APPLICATION, user["id"]) is not None

    exchange = await amqp.channel.get_exchange(EVENTS_EXCHANGE)

    async def publish(application_id: str) -> None:
        event = pb.UserChanged(user_id=user["id"], kind=pb.CHANGE_KIND_UPDATED, application_id=application_id)
        await exchange.publish(
            aio_pika.Message(event.SerializeToString(), type=pb.UserChanged.DESCRIPTOR.full_name), routing_key=""
        )

    await publish(str(uuid.uuid4()))  # the same user id in another application
    await asyncio.sleep(0.3)
    assert profiles.cached(DEFAULT_APPLICATION, user["id"]) is not None
    await publish("")  # no application: the default one
    for _ in range(100):
        if profiles.cached(DEFAULT_APPLICATION, user["id"]) is None:
            break
        await asyncio.sleep(0.02)
    assert profiles.cached(DEFAULT_APPLICATION, user["id"]) is None


async def test_a_send_keeps_its_keys_in_its_applications_slot(
    gateway: Gateway, redis: RedisClient, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client)
    idempotency_key = f"slot-{uuid.uuid4()}"
    response = await gateway.client.post(
        "/v1/notifications/send", json=send_body(user), headers={"Idempotency-Key": idempotency_key}
    )
    assert response.status_code == 202, response.text
    names = [
        application_limiter(DEFAULT_APPLICATION),
        recipient_limiter(DEFAULT_APPLICATION, user["id"]),
        idempotency_record(DEFAULT_APPLICATION, idempotency_key),
    ]
    assert await redis.exists(*names) == 3
    assert names[2] == f"gw:{{a:{DEFAULT_APPLICATION}}}:idem:{idempotency_key}"
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert await redis.hget(names[2], "r") == response.content


@pytest.mark.redis_cluster
async def test_limits_and_idempotency_keys_are_per_application(redis: RedisClient) -> None:
    gate = send_gate(redis, application_limit=100, user_limit=100)
    first, second, user = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    own = [await gate.admit(first, str(uuid.uuid4()), None, "", application_limit=2) for _ in range(3)]
    assert [a.verdict for a in own] == [Verdict.ADMITTED, Verdict.ADMITTED, Verdict.RATE_LIMITED]
    assert own[0].rate is not None
    assert own[0].rate.limit == 2
    default = await gate.admit(second, user, None, "")
    assert default.rate is not None
    assert default.rate.limit == 100  # no limit of its own: the deployment's

    claimed = await gate.admit(second, user, "order-1", "body-a")
    other = await gate.admit(str(uuid.uuid4()), user, "order-1", "body-b")
    assert claimed.verdict is other.verdict is Verdict.ADMITTED  # one key in two applications: two records


@pytest.mark.redis_cluster
async def test_failed_logins_count_per_application(redis: RedisClient) -> None:
    throttle = LoginThrottle(redis, max_failures=2, address_max_failures=0, window_seconds=60)
    email, first, second = f"{uuid.uuid4().hex}@example.com", str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        await throttle.reserve(first, email, address=None)
    with pytest.raises(ProblemError) as refused:
        await throttle.reserve(first, email, address=None)
    assert refused.value.status == 429
    await throttle.reserve(second, email, address=None)  # the same email in another application is another user
