"""POST /v1/notifications/send through a real gateway, user_svc, template_svc, Redis, Postgres and RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from common.amqp.topology import DIRECT_EXCHANGE, declare_topology
from devstack.infra import AmqpSession, Infra
from gateway.limits import body_hash, canonical_json
from gateway.schemas.notifications import SendRequest
from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import (
    DEFAULT_APPLICATION,
    UNREACHABLE,
    VARIABLES,
    Gateway,
    create_user,
    gateway_settings,
    running_gateway,
)
from tests.integration.gateway.test_edge import assert_problem
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService

pytestmark = pytest.mark.usefixtures("templates")


def send_body(user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES, **changes}


async def rows_of(gateway: Gateway, user_id: str) -> list[Any]:
    return list(
        await gateway.resources.db.fetch("SELECT * FROM notification_statuses WHERE user_id = $1", uuid.UUID(user_id))
    )


async def wait_published(gateway: Gateway, notification_id: str) -> None:
    for _ in range(100):
        query = "SELECT published_at FROM notification_statuses WHERE id = $1"
        if await gateway.resources.db.fetchval(query, uuid.UUID(notification_id)) is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("published_at was never set")


async def test_an_email_send_lands_one_rendered_envelope_and_a_queued_row(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client, name="Ada", locale="en")
    response = await gateway.client.post(
        "/v1/notifications/send",
        json=send_body(user, priority="high", metadata={"campaign": "onboarding"}),
        headers={"X-Request-ID": "req-send-1"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert body["reason"] is None
    assert body["status_url"] == f"/v1/notifications/{body['notification_id']}"
    assert uuid.UUID(body["notification_id"]).version == 7
    assert int(response.headers["x-ratelimit-limit"]) > 0
    assert int(response.headers["x-ratelimit-remaining"]) >= 0
    assert int(response.headers["x-ratelimit-reset"]) >= 0

    message = await amqp.get("email.queue")
    envelope = pb.MessageEnvelope.FromString(message.body)
    await message.ack()
    assert message.message_id == body["notification_id"]
    assert message.correlation_id == "req-send-1"
    assert envelope.notification_id == body["notification_id"]
    assert envelope.email.subject == "Welcome, Ada"
    assert envelope.email.text_body == "Hello Ada, start at https://example.com/start (en)"
    assert envelope.email_recipient.address == user["email"]
    assert envelope.priority == pb.PRIORITY_HIGH
    assert dict(envelope.metadata) == {"campaign": "onboarding"}
    assert envelope.template.slug == "welcome"
    assert envelope.application_id == DEFAULT_APPLICATION
    assert await amqp.depth("email.queue") == 0

    [row] = await rows_of(gateway, user["id"])
    assert row["status"] == "queued"
    assert row["envelope"] == message.body
    assert row["request_id"] == "req-send-1"
    await wait_published(gateway, body["notification_id"])

    status = (await gateway.client.get(body["status_url"])).json()
    assert status["status"] == "queued"
    assert status["template_version"] >= 1
    events = (await gateway.client.get(f"{body['status_url']}/events")).json()["items"]
    assert [event["status"] for event in events] == ["queued"]


async def test_a_push_send_goes_to_every_device(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    for token in ("device-a", "device-b"):
        await gateway.client.post(f"/v1/users/{user['id']}/devices", json={"token": token, "platform": "android"})
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user, channel="push"))
    assert response.status_code == 202, response.text
    message = await amqp.get("push.queue")
    envelope = pb.MessageEnvelope.FromString(message.body)
    await message.ack()
    assert envelope.push.title == "Hi Ada Lovelace"
    assert sorted(envelope.push_recipient.device_tokens) == ["device-a", "device-b"]


async def test_the_locale_is_the_requests_then_the_users(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client, name="Ada", locale="pt-BR")
    by_user = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    by_request = await gateway.client.post("/v1/notifications/send", json=send_body(user, locale="en"))
    assert by_user.status_code == by_request.status_code == 202
    first = pb.MessageEnvelope.FromString((await amqp.get("email.queue")).body)
    second = pb.MessageEnvelope.FromString((await amqp.get("email.queue")).body)
    subjects = {first.notification_id: first.email.subject, second.notification_id: second.email.subject}
    assert subjects[by_user.json()["notification_id"]] == "Bem-vinda, Ada"  # pt-BR falls back to pt
    assert subjects[by_request.json()["notification_id"]] == "Welcome, Ada"


@pytest.mark.parametrize(
    ("channel", "user_fields", "reason"),
    [
        ("email", {"preferences": {"email": False, "push": True}}, "channel_disabled"),
        ("push", {"preferences": {"email": True, "push": False}}, "channel_disabled"),
        ("push", {}, "no_device"),
    ],
)
async def test_skips_are_202_with_a_reason_a_skipped_row_and_nothing_published(
    gateway: Gateway, amqp: AmqpSession, channel: str, user_fields: dict[str, Any], reason: str
) -> None:
    user = await create_user(gateway.client, **user_fields)
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user, channel=channel))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "skipped"
    assert response.json()["reason"] == reason
    [row] = await rows_of(gateway, user["id"])
    assert (row["status"], row["reason"], row["envelope"]) == ("skipped", reason, None)
    assert await amqp.depth(f"{channel}.queue") == 0


async def test_a_suppressed_address_is_skipped(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    await gateway.resources.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason)"
        " VALUES ((SELECT id FROM applications WHERE name = 'default'), $1, 'hard_bounce')",
        user["email"].lower(),
    )
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    assert response.status_code == 202
    assert response.json() == {
        "notification_id": response.json()["notification_id"],
        "status": "skipped",
        "status_url": response.json()["status_url"],
        "reason": "suppressed",
    }
    assert await amqp.depth("email.queue") == 0
    events = (await gateway.client.get(response.json()["status_url"] + "/events")).json()["items"]
    assert events[0]["status"] == "skipped"
    assert events[0]["detail"] == {"reason": "suppressed"}


async def test_unknown_user_or_template_is_404_and_a_missing_variable_422_naming_it(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    stranger = {"id": str(uuid.uuid4())}
    unknown = await gateway.client.post("/v1/notifications/send", json=send_body(stranger))
    assert_problem(unknown, 404)
    assert "x-ratelimit-remaining" in unknown.headers  # every send response past the limiter reports it
    assert_problem(await gateway.client.post("/v1/notifications/send", json=send_body(user, template="nope")), 404)
    missing = await gateway.client.post("/v1/notifications/send", json=send_body(user, variables={"link": "x"}))
    body = assert_problem(missing, 422)
    assert [error["field"] for error in body["errors"]] == ["variables.name"]
    for expires_at in ("2001-01-01T00:00:00Z", 32503680000, "2999-01-01T00:00:00"):
        refused = await gateway.client.post("/v1/notifications/send", json=send_body(user, expires_at=expires_at))
        assert assert_problem(refused, 422)["errors"][0]["field"] == "expires_at"
    assert await rows_of(gateway, user["id"]) == []


async def test_expires_at_travels_in_the_envelope_and_the_row(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    response = await gateway.client.post(
        "/v1/notifications/send", json=send_body(user, expires_at="2999-01-01T10:00:00+02:00")
    )
    assert response.status_code == 202
    envelope = pb.MessageEnvelope.FromString((await amqp.get("email.queue")).body)
    assert envelope.expires_at.ToJsonString() == "2999-01-01T08:00:00Z"
    status = (await gateway.client.get(response.json()["status_url"])).json()
    assert status["expires_at"].startswith("2999-01-01T08:00:00")


async def test_an_idempotent_repeat_replays_the_first_response_and_sends_nothing(
    gateway_on_each_redis: Gateway, amqp: AmqpSession
) -> None:
    gateway = gateway_on_each_redis
    user = await create_user(gateway.client)
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = await gateway.client.post("/v1/notifications/send", json=send_body(user), headers=key)
    again = await gateway.client.post("/v1/notifications/send", json=send_body(user), headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    await asyncio.sleep(0.1)
    assert await amqp.depth("email.queue") == 1
    assert len(await rows_of(gateway, user["id"])) == 1

    other_body = await gateway.client.post("/v1/notifications/send", json=send_body(user, priority="low"), headers=key)
    assert_problem(other_body, 409)


async def test_a_repeat_while_the_first_is_in_flight_is_409_with_retry_after(gateway_on_each_redis: Gateway) -> None:
    gateway = gateway_on_each_redis
    user = await create_user(gateway.client)
    body = send_body(user)
    idempotency_key = f"order-{uuid.uuid4()}"
    fingerprint = body_hash(canonical_json(SendRequest.model_validate(body).model_dump(mode="json")))
    first = await gateway.resources.gate.admit(DEFAULT_APPLICATION, user["id"], idempotency_key, fingerprint)
    assert first.claim is not None  # the first request is now "in flight"
    response = await gateway.client.post(
        "/v1/notifications/send", json=body, headers={"Idempotency-Key": idempotency_key}
    )
    assert_problem(response, 409)
    assert response.headers["retry-after"] == "1"


async def test_many_identical_requests_racing_make_exactly_one_notification(
    gateway_on_each_redis: Gateway, amqp: AmqpSession
) -> None:
    gateway = gateway_on_each_redis
    user = await create_user(gateway.client)
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(gateway.client.post("/v1/notifications/send", json=send_body(user), headers=key) for _ in range(20))
    )
    accepted = [r for r in responses if r.status_code == 202]
    assert accepted
    assert {r.json()["notification_id"] for r in accepted} == {accepted[0].json()["notification_id"]}
    for response in responses:
        if response.status_code != 202:
            assert_problem(response, 409)
            assert response.headers["retry-after"] == "1"
    await asyncio.sleep(0.2)
    assert await amqp.depth("email.queue") == 1
    assert len(await rows_of(gateway, user["id"])) == 1


@pytest.mark.redis_cluster
async def test_rate_limit_429_with_retry_after_then_recovery(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService, redis_url: str
) -> None:
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
        redis_url=redis_url,
        rate_limit_user_per_minute=2,
        rate_limit_window_seconds=1,
    )
    async with running_gateway(settings) as gateway:
        user = await create_user(gateway.client)
        statuses = []
        for _ in range(3):
            response = await gateway.client.post("/v1/notifications/send", json=send_body(user))
            statuses.append(response.status_code)
        assert statuses == [202, 202, 429]
        assert_problem(response, 429)
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-ratelimit-limit"] == "2"
        assert response.headers["x-ratelimit-remaining"] == "0"
        await asyncio.sleep(0.55)
        recovered = await gateway.client.post("/v1/notifications/send", json=send_body(user))
        assert recovered.status_code == 202, recovered.text


@pytest.fixture
async def missing_exchange(amqp: AmqpSession) -> AsyncIterator[None]:
    """RabbitMQ refuses every publish: the exchange the gateway publishes to is gone (restored afterwards)."""
    channel = await amqp.connection.channel()
    await channel.exchange_delete(DIRECT_EXCHANGE)
    yield
    await declare_topology(await amqp.connection.channel())


async def test_a_refused_publish_is_503_and_leaves_nothing_behind(
    gateway: Gateway, amqp: AmqpSession, missing_exchange: None
) -> None:
    user = await create_user(gateway.client)
    key = {"Idempotency-Key": f"refused-{uuid.uuid4()}"}
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user), headers=key)
    assert_problem(response, 503)
    assert await rows_of(gateway, user["id"]) == []
    orphans = (
        "SELECT count(*) FROM notification_events e"
        " LEFT JOIN notification_statuses s ON s.id = e.notification_id WHERE s.id IS NULL"
    )
    assert await gateway.resources.db.fetchval(orphans) == 0

    await declare_topology(await amqp.connection.channel())  # the broker is back: the same key works
    retried = await retry_until_accepted(gateway.client, send_body(user), key)
    assert retried.json()["status"] == "queued"
    assert len(await rows_of(gateway, user["id"])) == 1


async def test_a_late_confirm_is_accepted_once_and_stamped_when_it_comes(
    infra: Infra,
    gateway: Gateway,
    amqp: AmqpSession,
    user_service: RunningUserService,
    template_service: RunningTemplateService,
) -> None:
    """No confirm within the timeout is an unknown outcome, not a refusal: the broker may hold the message, so
    the send is accepted (a 503 would invite a retry that delivers twice) and its row waits for the confirm."""
    user = await create_user(gateway.client)
    await (await amqp.channel.get_queue("email.queue", ensure=False)).purge()
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
        publish_timeout_seconds=1e-6,  # no broker confirms that fast
    )
    key = {"Idempotency-Key": f"late-{uuid.uuid4()}"}
    async with running_gateway(settings) as slow:
        first = await slow.client.post("/v1/notifications/send", json=send_body(user), headers=key)
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "queued"
        again = await slow.client.post("/v1/notifications/send", json=send_body(user), headers=key)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
    (row,) = await rows_of(gateway, user["id"])
    assert str(row["id"]) == first.json()["notification_id"]
    assert row["status"] == "queued"
    assert row["published_at"] is not None  # stamped by the late confirm: the reconciler will not publish it again
    message = await amqp.get("email.queue")
    assert message.message_id == first.json()["notification_id"]
    await message.ack()
    assert await amqp.depth("email.queue") == 0


async def retry_until_accepted(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    for _ in range(50):
        response = await client.post("/v1/notifications/send", json=body, headers=headers)
        if response.status_code == 202:
            return response
        assert response.status_code == 503, response.text
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not recover")


async def test_user_svc_down_is_503_and_leaves_nothing_behind(
    infra: Infra, gateway: Gateway, template_service: RunningTemplateService
) -> None:
    user = await create_user(gateway.client)
    settings = gateway_settings(
        infra,
        templates=template_service,
        grpc_timeout_seconds=0.5,
    )
    key = {"Idempotency-Key": f"down-{uuid.uuid4()}"}
    async with running_gateway(settings) as down:
        response = await down.client.post("/v1/notifications/send", json=send_body(user), headers=key)
        assert_problem(response, 503)
    assert await rows_of(gateway, user["id"]) == []
    accepted = await gateway.client.post("/v1/notifications/send", json=send_body(user), headers=key)
    assert accepted.status_code == 202  # the failed first request left no idempotency record


async def test_an_unreachable_redis_cluster_is_503_for_sends_and_logins_and_leaves_nothing_behind(
    gateway: Gateway,
) -> None:
    user = await create_user(gateway.client)
    settings = gateway.settings.model_copy(update={"redis_url": f"redis+cluster://{UNREACHABLE}/0"})
    async with running_gateway(settings) as down:
        for headers in ({"Idempotency-Key": f"down-{uuid.uuid4()}"}, {}):
            assert_problem(await down.client.post("/v1/notifications/send", json=send_body(user), headers=headers), 503)
        login = await down.client.post("/v1/auth/login", json={"email": user["email"], "password": "whatever"})
        assert_problem(login, 503)
    assert await rows_of(gateway, user["id"]) == []


async def test_numbers_beyond_64_bits_are_accepted_and_beyond_a_double_refused(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client)
    key = {"Idempotency-Key": f"big-{uuid.uuid4()}"}
    big = send_body(user, variables={**VARIABLES, "count": -57599645368583058358272})
    accepted = await gateway.client.post("/v1/notifications/send", json=big, headers=key)
    assert accepted.status_code == 202, accepted.text
    replayed = await gateway.client.post("/v1/notifications/send", json=big, headers=key)
    assert replayed.headers["idempotent-replayed"] == "true"
    huge = send_body(user, variables={**VARIABLES, "count": 10**400})
    refused = await gateway.client.post("/v1/notifications/send", json=huge)
    assert assert_problem(refused, 422)["errors"][0]["field"] == "variables"
