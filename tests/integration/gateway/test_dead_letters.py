"""/v1/dead-letters on a real gateway, database, broker, email worker and SMTP sink: a refused email and a
poison message land in the table; they are listed, filtered, paged and inspected; a replay (one, or by filter)
is delivered by the real worker through the real sink; a discard forgets; another application sees none of
it, and the operator's key sees all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aio_pika
import asyncpg
import pytest

from common.amqp.topology import FAILED_QUEUE
from common.dead_letter_mover import DeadLetterMover
from common.dead_letter_store import DeadLetterStore
from common.dead_letters import DEAD_LETTER_ID_HEADER
from common.envelope import encode_envelope
from common.ids import new_notification_id
from devstack.infra import AmqpSession, Infra
from tests.integration.delivery.support import email_envelope
from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway, create_user
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body
from tests.support.smtp_sink import RunningSmtpSink

pytestmark = pytest.mark.usefixtures("templates")

ADMIN = {"X-API-Key": ADMIN_API_KEY}
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if done(found) or asyncio.get_running_loop().time() > deadline:
            assert done(found), found
            return found
        await asyncio.sleep(0.1)


async def listed(gateway: Gateway, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    response = await gateway.client.get("/v1/dead-letters", params={"limit": 100, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def refused(gateway: Gateway, sink: RunningSmtpSink) -> tuple[dict[str, Any], str]:
    """A user whose mailbox the sink refuses once (550), and a notification to it, dead-lettered."""
    user = await create_user(gateway.client)
    await sink.fail(user["email"], 550, times=1)
    response = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    assert response.status_code == 202, response.text
    notification_id: str = response.json()["notification_id"]
    await eventually(
        lambda: listed(gateway, channel="email"),
        lambda items: notification_id in {item["notification_id"] for item in items},
    )
    return user, notification_id


async def lift_suppression(gateway: Gateway, user: dict[str, Any]) -> None:
    assert (await gateway.client.delete(f"/v1/suppressions/{user['email']}")).status_code == 204


async def status_of(gateway: Gateway, notification_id: str) -> str:
    status: str = (await gateway.client.get(f"/v1/notifications/{notification_id}")).json()["status"]
    return status


@pytest.mark.usefixtures("worker")
async def test_a_refused_email_is_kept_inspected_and_replayed_until_delivered(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    user, notification_id = await refused(gateway, sink)
    [item] = [item for item in await listed(gateway) if item["notification_id"] == notification_id]
    assert (item["channel"], item["reason"], item["attempts"]) == ("email", "smtp_550", 1)
    assert item["notification"]["status"] == "failed"
    assert datetime.fromisoformat(item["failed_at"]) <= datetime.now(UTC)

    detail = (await gateway.client.get(f"/v1/dead-letters/{item['id']}")).json()
    assert detail["envelope"]["notification_id"] == notification_id
    assert detail["envelope"]["email_recipient"]["address"] == user["email"]
    assert detail["envelope_error"] is None
    assert detail["headers"]["x-failure-reason"] == "smtp_550"

    await lift_suppression(gateway, user)
    replayed = await gateway.client.post(f"/v1/dead-letters/{item['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"id": item["id"], "notification_id": notification_id, "outcome": "replayed", "note": ""}
    await eventually(lambda: status_of(gateway, notification_id), lambda status: status == "delivered")
    assert len(await sink.messages(user["email"])) == 1
    assert_problem(await gateway.client.get(f"/v1/dead-letters/{item['id']}"), 404)
    events = (await gateway.client.get(f"/v1/notifications/{notification_id}/events")).json()["items"]
    assert any(event["detail"].get("dead_letter_id") == item["id"] for event in events)


@pytest.mark.usefixtures("worker")
async def test_a_replay_by_filter_sends_every_match_and_a_discard_forgets(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    since = datetime.now(UTC).isoformat()
    users, ids = zip(*[await refused(gateway, sink) for _ in range(3)], strict=True)
    for user in users:
        await lift_suppression(gateway, user)
    mine = [item for item in await listed(gateway, failed_after=since) if item["notification_id"] in ids]
    discarded = mine[0]
    assert (await gateway.client.delete(f"/v1/dead-letters/{discarded['id']}")).status_code == 204
    assert_problem(await gateway.client.delete(f"/v1/dead-letters/{discarded['id']}"), 404)

    response = await gateway.client.post(
        "/v1/dead-letters/replay", json={"channel": "email", "reason": "smtp_550", "failed_after": since}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"replayed": 2, "removed": 0, "kept": 0}
    rest = [each for each in ids if each != discarded["notification_id"]]
    for notification_id in rest:
        await eventually(lambda: status_of(gateway, notification_id), lambda status: status == "delivered")  # noqa: B023
    assert await status_of(gateway, discarded["notification_id"]) == "failed"
    assert await listed(gateway, failed_after=since) == []


@pytest.mark.usefixtures("worker")
async def test_poison_is_kept_without_an_application_seen_by_the_operator_and_not_replayable(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    await amqp.publisher.publish(
        amqp.publisher.topology.direct, aio_pika.Message(b"\x00not an envelope", message_id="poison-1"), "email"
    )
    poison = await eventually(
        lambda: listed(gateway, ADMIN, reason="poison"), lambda items: any(i["channel"] == "email" for i in items)
    )
    [item] = poison
    assert (item["notification_id"], item["notification"]) == (None, None)
    assert await listed(gateway, reason="poison") == []  # an application's key: it belongs to none
    detail = (await gateway.client.get(f"/v1/dead-letters/{item['id']}", headers=ADMIN)).json()
    assert detail["envelope"] is None
    assert detail["envelope_error"]
    refusal = assert_problem(await gateway.client.post(f"/v1/dead-letters/{item['id']}/replay", headers=ADMIN), 409)
    assert refusal["type"].endswith("/problems/not-replayable")
    assert (await gateway.client.delete(f"/v1/dead-letters/{item['id']}", headers=ADMIN)).status_code == 204


async def dead_letter_message(application_id: str, reason: str, dead_letter_id: uuid.UUID) -> aio_pika.Message:
    """What a worker publishes to the dead-letter exchange for a notification that has no row here."""
    envelope = email_envelope()
    envelope.application_id = application_id
    return aio_pika.Message(
        encode_envelope(envelope),
        message_id=envelope.notification_id,
        headers={
            "x-failure-reason": reason,
            "x-attempts": 3,
            "x-original-routing-key": "email",
            DEAD_LETTER_ID_HEADER: str(dead_letter_id),
        },
    )


async def test_pages_filters_redeliveries_and_another_application(
    gateway: Gateway, amqp: AmqpSession, mover: DeadLetterMover
) -> None:
    reason = f"test_{uuid.uuid4().hex[:8]}"
    default = (await gateway.client.get("/v1/auth/whoami")).json()["application_id"]
    sent = [new_notification_id() for _ in range(5)]
    for dead_letter_id in sent:
        message = await dead_letter_message(default, reason, dead_letter_id)
        for _ in range(2):  # a copy redelivered after a lost ack is kept once
            await amqp.publisher.publish(amqp.publisher.topology.dead_letter, message, "email")
    await eventually(lambda: amqp.depth(FAILED_QUEUE), lambda depth: depth == 0)
    await eventually(lambda: listed(gateway, reason=reason), lambda items: len(items) == 5)

    first = (await gateway.client.get("/v1/dead-letters", params={"reason": reason, "limit": 3})).json()
    second = (
        await gateway.client.get(
            "/v1/dead-letters", params={"reason": reason, "limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert second["next_cursor"] is None
    pages = [item["failed_at"] for item in first["items"] + second["items"]]
    assert len(pages) == 5
    assert pages == sorted(pages, reverse=True)
    assert await listed(gateway, reason=reason, channel="push") == []
    assert len(await listed(gateway, reason=reason, failed_before="2000-01-01T00:00:00Z")) == 0
    assert_problem(await gateway.client.get("/v1/dead-letters", params={"cursor": "nope!"}), 422)
    assert_problem(await gateway.client.get("/v1/dead-letters", params={"reason": "a\x00b"}), 422)
    assert_problem(await gateway.client.post("/v1/dead-letters/replay", json={"limit": 1001}), 422)

    application = await gateway.client.post("/v1/applications", json={"name": f"dlq-{reason}"}, headers=ADMIN)
    other = await gateway.client.post(
        f"/v1/applications/{application.json()['id']}/keys",
        json={"name": "dlq", "scopes": ["notifications:read", "dead_letters:manage"]},
        headers=ADMIN,
    )
    stranger = {"X-API-Key": other.json()["key"]}
    some = first["items"][0]["id"]
    assert await listed(gateway, stranger, reason=reason) == []
    assert_problem(await gateway.client.get(f"/v1/dead-letters/{some}", headers=stranger), 404)
    assert_problem(await gateway.client.post(f"/v1/dead-letters/{some}/replay", headers=stranger), 404)
    assert_problem(await gateway.client.delete(f"/v1/dead-letters/{some}", headers=stranger), 404)
    answer = await gateway.client.post("/v1/dead-letters/replay", json={"reason": reason}, headers=stranger)
    assert answer.json() == {"replayed": 0, "removed": 0, "kept": 0}
    assert len(await listed(gateway, ADMIN, reason=reason)) == 5
    in_other = {**ADMIN, "X-Application-Id": application.json()["id"]}
    assert await listed(gateway, in_other, reason=reason) == []

    # No status row: kept by a replay (a worker would drop it), until discarded.
    kept = await gateway.client.post("/v1/dead-letters/replay", json={"reason": reason})
    assert kept.json() == {"replayed": 0, "removed": 0, "kept": 5}
    for item in await listed(gateway, reason=reason):
        assert (await gateway.client.delete(f"/v1/dead-letters/{item['id']}")).status_code == 204


async def test_a_message_is_acked_only_once_its_row_is_written(
    gateway: Gateway, amqp: AmqpSession, infra: Infra
) -> None:
    """A mover that cannot write (its database connection is gone) leaves the message in failed.queue; the
    next one keeps it."""
    reason = f"test_{uuid.uuid4().hex[:8]}"
    default = (await gateway.client.get("/v1/auth/whoami")).json()["application_id"]
    message = await dead_letter_message(default, reason, new_notification_id())
    await amqp.publisher.publish(amqp.publisher.topology.dead_letter, message, "email")

    gone = await asyncpg.connect(infra.database("NOTIFICATIONS_DATABASE_URL"))
    await gone.close()
    broken = DeadLetterMover(gateway.resources.amqp, DeadLetterStore(gone))
    await broken.start()
    await asyncio.sleep(0.5)
    await broken.stop()
    assert await eventually(lambda: amqp.depth(FAILED_QUEUE), lambda depth: depth == 1) == 1
    moved = await DeadLetterMover(gateway.resources.amqp, gateway.resources.dead_letters).drain()
    assert moved == 1
    assert await amqp.depth(FAILED_QUEUE) == 0
    [item] = await listed(gateway, reason=reason)
    assert (await gateway.client.delete(f"/v1/dead-letters/{item['id']}")).status_code == 204


async def test_a_message_for_no_known_queue_is_kept_without_a_channel(
    gateway: Gateway, amqp: AmqpSession, mover: DeadLetterMover
) -> None:
    reason = f"test_{uuid.uuid4().hex[:8]}"
    headers = {"x-failure-reason": reason, "x-original-routing-key": "sms", DEAD_LETTER_ID_HEADER: "not a uuid"}
    await amqp.publisher.publish(amqp.publisher.topology.dead_letter, aio_pika.Message(b"?", headers=headers), "sms")
    [item] = await eventually(lambda: listed(gateway, ADMIN, reason=reason), lambda items: len(items) == 1)
    assert (item["channel"], item["notification_id"]) == (None, None)
    assert_problem(await gateway.client.post(f"/v1/dead-letters/{item['id']}/replay", headers=ADMIN), 409)
    assert (await gateway.client.delete(f"/v1/dead-letters/{item['id']}", headers=ADMIN)).status_code == 204
