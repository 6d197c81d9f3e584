"""Scheduled sends through a real gateway, user_svc, template_svc, Postgres and RabbitMQ (docs/api.md
"Scheduling"): ``send_at`` stores a ``scheduled`` row that the scheduler publishes not before its time and
within 1 s after it; local times per recipient timezone; quiet hours; cancel; the profile read again at
publish; a deleted user's scheduled rows cancelled; an interrupted scheduler losing nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.infra import AmqpSession
from gateway.pages import PageWriter, Publication
from gateway.reconciler import Reconciler
from gateway.scheduling.scheduler import Scheduler
from gateway.send import NotificationSender
from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import EMAIL, VARIABLES, Gateway, create_user, unique_email
from tests.integration.gateway.test_applications import EVERY_SCOPE, new_application, new_key
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_preferences import patch
from tests.integration.gateway.webhook_outbox import subscribe

pytestmark = pytest.mark.usefixtures("templates")

SEND = "/v1/notifications/send"
BATCH = "/v1/notifications/batch"


def at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def send_body(user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES, **changes}


async def row(gateway: Gateway, notification_id: str) -> Any:
    query = "SELECT * FROM notification_statuses WHERE id = $1"
    return await gateway.resources.db.fetchrow(query, uuid.UUID(notification_id))


async def scheduled(gateway: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.client.post(SEND, json=body)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    assert (answer["status"], answer["reason"]) == ("scheduled", None), answer
    return answer


async def published(gateway: Gateway, notification_id: str, timeout: float = 10.0) -> Any:
    """The row once its publish is stamped."""
    for _ in range(int(timeout / 0.02)):
        found = await row(gateway, notification_id)
        if found["published_at"] is not None:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{notification_id} was never published")


async def envelope(amqp: AmqpSession, queue: str = "email.queue") -> pb.MessageEnvelope:
    message = await amqp.get(queue)
    await message.ack()
    return pb.MessageEnvelope.FromString(message.body)


def quiet_now() -> dict[str, str]:
    """UTC quiet hours from an hour ago to an hour ahead: now is inside them."""
    return {"start": at(-3600).strftime("%H:%M"), "end": at(3600).strftime("%H:%M")}


async def test_a_send_at_ahead_is_scheduled_then_published_within_a_second_after_it(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client, name="Ada")
    send_at = at(2).replace(microsecond=0) + timedelta(seconds=1)
    answer = await scheduled(gateway, send_body(user, send_at=send_at.isoformat()))

    status = (await gateway.client.get(answer["status_url"])).json()
    assert status["status"] == "scheduled"
    assert datetime.fromisoformat(status["send_at"]) == send_at
    stored = await row(gateway, answer["notification_id"])
    assert stored["envelope"] is None
    assert stored["render_input"]["variables"] == VARIABLES
    assert await amqp.depth("email.queue") == 0

    sent = await published(gateway, answer["notification_id"])
    assert send_at <= sent["published_at"] <= send_at + timedelta(seconds=1)
    assert sent["status"] == "queued"
    assert sent["render_input"] is None
    found = await envelope(amqp)
    assert found.notification_id == answer["notification_id"]
    assert found.email.subject == "Welcome, Ada"
    assert found.email_recipient.address == user["email"]
    events = (await gateway.client.get(f"{answer['status_url']}/events")).json()["items"]
    assert [event["status"] for event in events] == ["scheduled", "queued"]


async def test_a_send_at_within_the_clock_skew_is_sent_at_once(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    response = await gateway.client.post(SEND, json=send_body(user, send_at=at(-2).isoformat()))
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert (await envelope(amqp)).notification_id == response.json()["notification_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"send_at": "in an hour"}, "send_at"),
        ({"send_at": {"local_time": "25:00"}}, "send_at"),
        ({"send_at": {"local_time": "09:00", "hour": 1}}, "send_at"),
        ({"send_at": 1893456000}, "send_at"),
        ({"send_at": "-60s"}, "send_at"),
        ({"send_at": "2020-01-01T00:00:00Z"}, "send_at"),
        ({"send_at": "2099-01-01T00:00:00Z"}, "send_at"),
        ({"send_at": {"local_time": "09:00", "date": "2020-01-01"}}, "send_at.date"),
        ({"send_at": "SEND_AT", "expires_at": "SEND_AT"}, "expires_at"),
    ],
)
async def test_a_bad_send_at_is_422_naming_it(gateway: Gateway, changes: dict[str, Any], field: str) -> None:
    user = await create_user(gateway.client)
    later = at(3600).isoformat()
    body = send_body(user, **{key: later if value == "SEND_AT" else value for key, value in changes.items()})
    for path, request in ((SEND, body), (BATCH, {**body, "recipients": [{"user_id": user["id"]}]})):
        if path == BATCH:
            del request["user_id"]
        problem = assert_problem(await gateway.client.post(path, json=request), 422)
        assert any(error["field"].startswith(field) for error in problem["errors"]), problem
    assert (await gateway.client.get("/v1/notifications", params={"user_id": user["id"]})).json()["items"] == []


async def test_an_unknown_template_or_missing_variable_is_refused_at_accept(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    later = at(3600).isoformat()
    assert_problem(await gateway.client.post(SEND, json=send_body(user, template="nope", send_at=later)), 404)
    problem = assert_problem(await gateway.client.post(SEND, json=send_body(user, variables={}, send_at=later)), 422)
    assert problem["errors"][0]["field"].startswith("variables")


async def test_a_local_time_is_each_recipients_own(gateway: Gateway) -> None:
    zones = ("Asia/Tokyo", "America/New_York", "Europe/Lisbon")
    users = [await create_user(gateway.client, preferences={"email": True, "push": True}) for _ in zones]
    for user, zone in zip(users, zones, strict=True):
        await patch(gateway, user["id"], {"timezone": zone})
    body = {
        "channel": "email",
        "template": "welcome",
        "variables": VARIABLES,
        "send_at": {"local_time": "09:00"},
        "recipients": [{"user_id": user["id"]} for user in users],
    }
    before = datetime.now(UTC)
    response = await gateway.client.post(BATCH, json=body)
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [item["status"] for item in items] == ["scheduled"] * 3
    for item, zone in zip(items, zones, strict=True):
        send_at = (await row(gateway, item["notification_id"]))["send_at"]
        local = send_at.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (9, 0)
        assert before < send_at <= before + timedelta(days=1)


async def test_a_batch_with_send_at_is_scheduled_and_published_together(gateway: Gateway, amqp: AmqpSession) -> None:
    users = [await create_user(gateway.client) for _ in range(3)]
    send_at = at(2)
    body = {
        "channel": "email",
        "template": "welcome",
        "variables": VARIABLES,
        "send_at": send_at.isoformat(),
        "recipients": [{"user_id": user["id"]} for user in users],
    }
    response = await gateway.client.post(BATCH, json=body)
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [(item["status"], item["reason"]) for item in items] == [("scheduled", None)] * 3
    for item in items:
        sent = await published(gateway, item["notification_id"])
        assert send_at <= sent["published_at"] <= send_at + timedelta(seconds=1)
    found = {(await envelope(amqp)).notification_id for _ in items}
    assert found == {item["notification_id"] for item in items}


async def test_a_cancelled_scheduled_notification_is_never_published(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(1).isoformat()))
    cancelled = await gateway.client.post(f"{answer['status_url']}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")

    await asyncio.sleep(2)
    stored = await row(gateway, answer["notification_id"])
    assert (stored["status"], stored["published_at"], stored["render_input"]) == ("cancelled", None, None)
    assert await amqp.depth("email.queue") == 0


async def test_quiet_hours_defer_normal_skip_what_expires_first_and_let_high_through(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client)
    quiet = quiet_now()
    await patch(gateway, user["id"], {"quiet_hours": quiet})
    ends = at(3600).replace(second=0, microsecond=0)

    answer = await scheduled(gateway, send_body(user, priority="normal"))
    send_at = (await row(gateway, answer["notification_id"]))["send_at"]
    assert ends <= send_at <= ends + timedelta(seconds=300)

    expiring = await gateway.client.post(SEND, json=send_body(user, expires_at=at(1800).isoformat()))
    assert (expiring.json()["status"], expiring.json()["reason"]) == ("skipped", "quiet_hours_expired")

    urgent = await gateway.client.post(SEND, json=send_body(user, priority="high"))
    assert urgent.json()["status"] == "queued"
    assert (await envelope(amqp)).notification_id == urgent.json()["notification_id"]

    other = await create_user(gateway.client)
    batch = {
        "channel": "email",
        "template": "welcome",
        "variables": VARIABLES,
        "recipients": [{"user_id": user["id"]}, {"user_id": other["id"]}],
    }
    items = (await gateway.client.post(BATCH, json=batch)).json()["items"]
    assert [item["status"] for item in items] == ["scheduled", "queued"]


async def test_quiet_hours_begun_since_accept_defer_it_again_at_publish(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(1.5).isoformat()))
    await patch(gateway, user["id"], {"quiet_hours": quiet_now()})

    await asyncio.sleep(2.5)
    stored = await row(gateway, answer["notification_id"])
    assert stored["status"] == "scheduled"
    assert stored["send_at"] >= at(3500)
    assert stored["render_input"] is not None
    assert await amqp.depth("email.queue") == 0
    events = (await gateway.client.get(f"{answer['status_url']}/events")).json()["items"]
    assert [event["status"] for event in events] == ["scheduled"]


async def test_the_profile_is_read_again_at_publish(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client, name="Ada")
    answer = await scheduled(gateway, send_body(user, send_at=at(1.5).isoformat()))
    changed = await gateway.client.patch(f"/v1/users/{user['id']}", json={"email": "new-" + user["email"]})
    assert changed.status_code == 200, changed.text
    await gateway.client.patch(f"/v1/users/{user['id']}", json={"name": "Grace"})

    await published(gateway, answer["notification_id"])
    found = await envelope(amqp)
    assert found.email_recipient.address == "new-" + user["email"]
    assert found.email.subject == "Welcome, Grace"


async def test_a_channel_disabled_since_accept_is_skipped_at_publish(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(1).isoformat()))
    await patch(gateway, user["id"], {"email": False})
    for _ in range(150):
        stored = await row(gateway, answer["notification_id"])
        if stored["status"] != "scheduled":
            break
        await asyncio.sleep(0.02)
    assert (stored["status"], stored["reason"]) == ("skipped", "channel_disabled")
    assert await amqp.depth("email.queue") == 0


async def test_deleting_the_user_cancels_its_scheduled_notifications(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(1).isoformat()))
    assert (await gateway.client.delete(f"/v1/users/{user['id']}")).status_code == 204

    stored = await row(gateway, answer["notification_id"])
    assert (stored["status"], stored["reason"], stored["render_input"]) == ("cancelled", "user_deleted", None)
    await asyncio.sleep(1.5)
    assert (await row(gateway, answer["notification_id"]))["published_at"] is None
    assert await amqp.depth("email.queue") == 0


class Crash(BaseException):
    """The process dies between the scheduler's commit and its publish."""


class CrashingWriter(PageWriter):
    async def publish(self, publications: Sequence[Publication]) -> list[uuid.UUID]:
        raise Crash


async def test_an_interrupted_scheduler_loses_nothing(gateway: Gateway, amqp: AmqpSession) -> None:
    resources = gateway.resources
    scheduler = Scheduler(
        resources.store,
        NotificationSender(
            resources.profiles,
            resources.templates,
            resources.renderer,
            resources.store,
            resources.publisher,
            resources.stamper,
        ),
        resources.profiles,
        CrashingWriter(resources.store, resources.publisher, resources.stamper),
        resources.stamper,
        interval_seconds=0.5,
        batch_size=500,
    )
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(3600).isoformat()))
    await resources.db.execute(
        "UPDATE notification_statuses SET send_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(answer["notification_id"]),
    )
    with pytest.raises(Crash):
        await scheduler.run_once()

    stored = await row(gateway, answer["notification_id"])
    if stored["status"] == "scheduled":  # the gateway's own scheduler claimed it first: nothing to show
        pytest.skip("the running scheduler took the row")
    assert stored["status"] == "queued"
    assert stored["envelope"] is not None
    assert stored["published_at"] is None

    reconciler = Reconciler(resources.store, resources.publisher, age_seconds=0.001, interval_seconds=1, batch_size=500)
    assert await reconciler.run_once() >= 1
    republished = [(await envelope(amqp)).notification_id for _ in range(await amqp.depth("email.queue"))]
    assert answer["notification_id"] in republished  # with what other tests left unpublished
    assert (await row(gateway, answer["notification_id"]))["published_at"] is not None


async def test_the_webhook_outbox_gets_scheduled_then_queued(gateway: Gateway, amqp: AmqpSession) -> None:
    application = await new_application(gateway.client)
    theirs = {"X-API-Key": (await new_key(gateway.client, application["id"], EVERY_SCOPE))["key"]}
    assert (await gateway.client.post("/v1/templates", json=EMAIL, headers=theirs)).status_code == 201
    created = await gateway.client.post(
        "/v1/users",
        json={"name": "Ada", "email": unique_email(), "password": "correct horse battery"},
        headers=theirs,
    )
    user = created.json()
    await subscribe(gateway.resources.db, uuid.UUID(application["id"]), ["*"])

    response = await gateway.client.post(SEND, json=send_body(user, send_at=at(1).isoformat()), headers=theirs)
    answer = response.json()
    await published(gateway, answer["notification_id"])
    await envelope(amqp)

    notification_id = uuid.UUID(answer["notification_id"])
    query = "SELECT event_type, data FROM webhook_outbox WHERE notification_id = $1 ORDER BY id"
    written = await gateway.resources.db.fetch(query, notification_id)
    assert [row["event_type"] for row in written] == ["notification.scheduled", "notification.queued"]
    scheduled_at = written[0]["data"]
    assert scheduled_at["status"] == "scheduled"
    assert datetime.fromisoformat(scheduled_at["send_at"]) == (await row(gateway, answer["notification_id"]))["send_at"]
    shown = (await gateway.client.get(answer["status_url"], headers=theirs)).json()
    assert {key: value for key, value in written[1]["data"].items() if key != "event"} == shown


async def wait_resolved(gateway: Gateway, notification_id: str) -> Any:
    """The row once the scheduler took it out of ``scheduled``."""
    for _ in range(250):
        found = await row(gateway, notification_id)
        if found["status"] != "scheduled":
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{notification_id} stayed scheduled")


async def test_a_template_that_no_longer_renders_is_skipped_at_publish(gateway: Gateway, amqp: AmqpSession) -> None:
    slug = f"later-{uuid.uuid4().hex[:8]}"
    template = {"slug": slug, "channel": "email", "locale": "en", "subject": "Hi", "body": "{{ name }}"}
    assert (await gateway.client.post("/v1/templates", json=template)).status_code == 201
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, template=slug, send_at=at(1).isoformat()))
    changed = await gateway.client.put(f"/v1/templates/{slug}", json={**template, "body": "{{ coupon }}"})
    assert changed.status_code == 200, changed.text

    stored = await wait_resolved(gateway, answer["notification_id"])
    assert (stored["status"], stored["reason"], stored["render_input"]) == ("skipped", "render_failed", None)
    assert await amqp.depth("email.queue") == 0


async def test_a_user_unknown_when_due_is_cancelled(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    answer = await scheduled(gateway, send_body(user, send_at=at(3600).isoformat()))
    await gateway.resources.db.execute(
        "UPDATE notification_statuses SET user_id = $2, send_at = now() WHERE id = $1",
        uuid.UUID(answer["notification_id"]),
        uuid.uuid4(),  # as if user_svc deleted the user and the gateway never heard of it
    )

    stored = await wait_resolved(gateway, answer["notification_id"])
    assert (stored["status"], stored["reason"]) == ("cancelled", "user_deleted")
    assert await amqp.depth("email.queue") == 0
