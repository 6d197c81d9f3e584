"""Finding 10: data kept. Rendered content (one-time codes, reset links) is erased ``NOTIFICATIONS_CONTENT_DAYS``
after a notification's final status, and deleting a user erases the personal data of their notifications
(address, device tokens, content, provider replies) and cancels what no worker has claimed yet, so a copy that
reaches a worker afterwards is not sent."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY

from common.dead_letter_replay import Action
from common.envelope import encode_envelope
from common.ids import first_id_at
from common.settings import load_settings
from delivery.replay import ReplaySettings, replay
from devstack.infra import AmqpSession
from tests.integration.delivery.fixtures import sink
from tests.integration.delivery.support import email_envelope, eventually, running_worker, worker_settings
from tests.integration.gateway.conftest import gateway, template_service, templates, user_service
from tests.integration.gateway.harness import VARIABLES, Gateway, create_user
from tests.support.smtp_sink import RunningSmtpSink

__all__ = ["gateway", "sink", "template_service", "templates", "user_service"]

pytestmark = pytest.mark.usefixtures("templates")


def id_at(moment: datetime) -> uuid.UUID:
    """A notification id made at ``moment``."""
    return uuid.UUID(int=first_id_at(moment).int | random.getrandbits(62))


async def insert_row(gateway: Gateway, *, status: str, created_days_ago: float, final_days_ago: float) -> uuid.UUID:
    """A row holding its envelope, created and last changed that many days ago."""
    now = datetime.now(UTC)
    notification_id = id_at(now - timedelta(days=created_days_ago))
    envelope = email_envelope("kept-or-erased@example.com", text="Your code is 424242")
    await gateway.resources.db.execute(
        """INSERT INTO notification_statuses
           (id, channel, user_id, template_slug, status, envelope, published_at, created_at, updated_at,
            application_id)
           VALUES ($1, 'email', $2, 'welcome', $3, $4, $5, $5, $6,
                   (SELECT id FROM applications WHERE name = 'default'))""",
        notification_id,
        uuid.uuid4(),
        status,
        encode_envelope(envelope),
        now - timedelta(days=created_days_ago),
        now - timedelta(days=final_days_ago),
    )
    return notification_id


async def envelope_of(gateway: Gateway, notification_id: uuid.UUID) -> bytes | None:
    found: bytes | None = await gateway.resources.db.fetchval(
        "SELECT envelope FROM notification_statuses WHERE id = $1", notification_id
    )
    return found


async def test_rendered_content_is_erased_days_after_a_final_status_and_the_reads_still_answer(
    gateway: Gateway,
) -> None:
    days = gateway.settings.content_days
    assert days == 7  # NOTIFICATIONS_CONTENT_DAYS, default
    old = await insert_row(gateway, status="delivered", created_days_ago=days + 2, final_days_ago=days + 1)
    recent = await insert_row(gateway, status="delivered", created_days_ago=days, final_days_ago=days - 1)
    pending = await insert_row(gateway, status="retrying", created_days_ago=days + 2, final_days_ago=days + 1)

    assert await gateway.resources.content_eraser.run_once() >= 1

    assert await envelope_of(gateway, old) is None
    assert await envelope_of(gateway, recent) is not None
    assert await envelope_of(gateway, pending) is not None  # not final: a worker may still need it
    status = await gateway.client.get(f"/v1/notifications/{old}")
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "delivered"
    assert (await gateway.client.get(f"/v1/notifications/{old}/events")).status_code == 200


def not_sent(reason: str) -> float:
    return REGISTRY.get_sample_value("notifications_not_sent_total", {"channel": "email", "reason": reason}) or 0.0


async def rows_of(gateway: Gateway, user_id: str) -> dict[str, dict[str, Any]]:
    rows = await gateway.resources.db.fetch(
        "SELECT * FROM notification_statuses WHERE user_id = $1", uuid.UUID(user_id)
    )
    return {str(row["id"]): dict(row) for row in rows}


async def send(gateway: Gateway, user: dict[str, Any], channel: str) -> str:
    body = {
        "user_id": user["id"],
        "channel": channel,
        "template": "welcome",
        "variables": VARIABLES,
        "metadata": {"order": "A-1"},
    }
    response = await gateway.client.post("/v1/notifications/send", json=body)
    assert response.status_code == 202, response.text
    notification_id: str = response.json()["notification_id"]
    return notification_id


@pytest.mark.usefixtures("amqp")  # every queue purged: the worker below takes only this test's messages
async def test_deleting_a_user_cancels_what_is_pending_and_erases_their_personal_data(
    gateway: Gateway, sink: RunningSmtpSink
) -> None:
    user = await create_user(gateway.client, name="Leaving")
    token = f"device-{uuid.uuid4().hex}"
    device = await gateway.client.post(f"/v1/users/{user['id']}/devices", json={"token": token, "platform": "android"})
    assert device.status_code == 201, device.text
    worker = worker_settings(sink)
    async with running_worker(worker):
        delivered = await send(gateway, user, "email")
        await eventually(lambda: rows_of(gateway, user["id"]), lambda rows: rows[delivered]["status"] == "delivered")
    pending_email = await send(gateway, user, "email")  # no worker now: stays queued, its message in email.queue
    pending_push = await send(gateway, user, "push")

    deleted = await gateway.client.delete(f"/v1/users/{user['id']}")
    assert deleted.status_code == 204, deleted.text

    rows = await rows_of(gateway, user["id"])
    assert {key: (row["status"], row["reason"]) for key, row in rows.items()} == {
        delivered: ("delivered", None),
        pending_email: ("cancelled", "user_deleted"),
        pending_push: ("cancelled", "user_deleted"),
    }
    for row in rows.values():
        assert (row["envelope"], row["last_error"], row["metadata"]) == (None, None, {})
        assert row["erased_at"] is not None
    history = await gateway.resources.db.fetch(
        "SELECT status, detail::text AS detail FROM notification_events WHERE notification_id = ANY($1::uuid[])",
        [uuid.UUID(key) for key in rows],
    )
    for event in history:
        assert user["email"] not in event["detail"], event
        assert token not in event["detail"], event
    assert {event["detail"] for event in history} <= {"{}", '{"reason": "user_deleted"}'}
    status = await gateway.client.get(f"/v1/notifications/{pending_email}")
    assert (status.status_code, status.json()["status"]) == (200, "cancelled")

    # the cancelled notification's message is still in the queue: a worker receiving it now does not send it
    cancelled = not_sent("cancelled")
    async with running_worker(worker):
        await eventually(lambda: not_sent("cancelled"), lambda count: count > cancelled)
    assert len(await sink.messages(user["email"])) == 1
    assert (
        await gateway.resources.db.fetchval(
            "SELECT status FROM notification_statuses WHERE id = $1", uuid.UUID(pending_email)
        )
    ) == "cancelled"


async def test_the_replay_removes_a_deleted_users_dead_letter_instead_of_sending_it(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    user = await create_user(gateway.client, name="Bounced Then Gone")
    envelope = email_envelope(user["email"])
    envelope.user_id = user["id"]
    await gateway.resources.db.execute(
        """INSERT INTO notification_statuses
           (id, channel, user_id, template_slug, status, reason, envelope, application_id)
           VALUES ($1, 'email', $2, 'welcome', 'failed', 'retries_exhausted', $3,
                   (SELECT id FROM applications WHERE name = 'default'))""",
        uuid.UUID(envelope.notification_id),
        uuid.UUID(user["id"]),
        encode_envelope(envelope),
    )
    dead = aio_pika.Message(
        encode_envelope(envelope),
        message_id=envelope.notification_id,
        headers={"x-failure-reason": "retries_exhausted", "x-attempts": 5, "x-original-routing-key": "email"},
    )
    await amqp.publisher.publish(amqp.publisher.topology.dead_letter, dead, "email")
    assert (await gateway.client.delete(f"/v1/users/{user['id']}")).status_code == 204

    settings = load_settings(ReplaySettings)
    [result] = await replay(settings, {uuid.UUID(envelope.notification_id)}, dry_run=False)

    assert (result.action, result.note) == (Action.REMOVED, "its user was deleted")
    assert (
        await gateway.resources.db.fetchval(
            "SELECT status FROM notification_statuses WHERE id = $1", uuid.UUID(envelope.notification_id)
        )
    ) == "failed"
    listed = await replay(settings, None, dry_run=True)
    assert envelope.notification_id not in {left.letter.notification_id for left in listed}  # gone from the DLQ
