"""The push worker through the shared runtime, in-process: real RabbitMQ, Postgres, user_svc, and
firebase-admin against the local FCM server."""

from __future__ import annotations

from common.amqp.topology import FAILED_QUEUE
from devstack.infra import AmqpSession
from notification.v1 import notification_pb2 as pb
from tests.integration.push_worker.helpers import (
    PushGateway,
    Users,
    new_token,
    push_envelope,
    push_worker_settings,
    running_push_worker,
)
from tests.support.fcm_server import RunningFcmServer
from tests.support.user_service import RunningUserService


async def test_a_push_is_delivered_and_its_history_has_each_devices_outcome(
    gateway: PushGateway, fcm: RunningFcmServer, user_service: RunningUserService, users: Users
) -> None:
    phone, tablet = new_token(), new_token()
    user_id = await users.create([phone, tablet])
    envelope = push_envelope(user_id, [phone, tablet], data={"order": "42"}, priority=pb.PRIORITY_HIGH)

    async with running_push_worker(push_worker_settings(fcm, user_service)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")

    [on_phone] = fcm.messages(token=phone)
    assert on_phone["message"]["notification"] == {"title": "Your order shipped", "body": "It arrives tomorrow."}
    assert on_phone["message"]["data"] == {"order": "42"}
    assert on_phone["message"]["android"] == {"priority": "high", "collapse_key": envelope.notification_id}
    assert (row["attempts"], row["provider_message_id"]) == (1, on_phone["name"])
    assert row["delivered_at"] is not None
    events = await gateway.events(envelope.notification_id)
    assert [(status, attempt) for status, attempt, _ in events] == [("sending", 1), ("delivered", 1)]
    assert [(d["token"], d["result"]) for d in events[1][2]["devices"]] == [(phone, "delivered"), (tablet, "delivered")]


async def test_a_throttled_push_is_retried_until_fcm_accepts_it(
    gateway: PushGateway, fcm: RunningFcmServer, user_service: RunningUserService
) -> None:
    token = new_token()
    fcm.fail(token, "quota", times=2, retry_after=30)
    envelope = push_envelope("0190b0a4-0000-7000-8000-000000000002", [token])

    async with running_push_worker(push_worker_settings(fcm, user_service)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")

    assert row["attempts"] == 3
    assert "QUOTA_EXCEEDED" in row["last_error"]
    assert len(fcm.messages(token=token)) == 1
    events = await gateway.events(envelope.notification_id)
    assert [(status, attempt) for status, attempt, _ in events] == [
        ("sending", 1),
        ("retrying", 1),
        ("sending", 2),
        ("retrying", 2),
        ("sending", 3),
        ("delivered", 3),
    ]
    retrying = events[1][2]
    assert retrying["devices"] == [
        {
            "token": token,
            "result": "transient",
            "error_code": "QUOTA_EXCEEDED",
            "error": "Message rate exceeded for this device.",
            "retry_after": 30,
        }
    ]
    assert retrying["retry_in_seconds"] >= 30 * push_worker_settings(fcm, user_service).retry_delay_scale


async def test_an_invalid_message_fails_at_once_and_is_dead_lettered(
    gateway: PushGateway, fcm: RunningFcmServer, user_service: RunningUserService, amqp: AmqpSession
) -> None:
    token = new_token("invalid")
    envelope = push_envelope("0190b0a4-0000-7000-8000-000000000003", [token])

    async with running_push_worker(push_worker_settings(fcm, user_service)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")

    assert (row["reason"], row["attempts"]) == ("invalid_argument", 1)
    assert "INVALID_ARGUMENT" in row["last_error"]
    dead = await amqp.get(FAILED_QUEUE)
    assert pb.MessageEnvelope.FromString(dead.body) == envelope
    assert dead.headers["x-failure-reason"] == "invalid_argument"
    assert dead.headers["x-attempts"] == 1
    assert dead.headers["x-original-routing-key"] == "push"
    await dead.ack()


async def test_a_user_whose_devices_are_all_dead_loses_them_and_the_push_fails(
    gateway: PushGateway, fcm: RunningFcmServer, user_service: RunningUserService, users: Users, amqp: AmqpSession
) -> None:
    uninstalled, other_sender = new_token("unregistered"), new_token("sender-id-mismatch")
    user_id = await users.create([uninstalled, other_sender])
    envelope = push_envelope(user_id, [uninstalled, other_sender])

    async with running_push_worker(push_worker_settings(fcm, user_service)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "failed")

    assert (row["reason"], row["attempts"]) == ("no_live_device", 1)
    assert await users.device_tokens(user_id) == []
    dead = await amqp.get(FAILED_QUEUE)
    assert dead.headers["x-failure-reason"] == "no_live_device"
    await dead.ack()
    failed = (await gateway.events(envelope.notification_id))[-1][2]
    assert [(d["error_code"], d["device"]) for d in failed["devices"]] == [
        ("UNREGISTERED", "removed"),
        ("SENDER_ID_MISMATCH", "removed"),
    ]
    assert fcm.messages() == []


async def test_a_test_mode_push_is_recorded_delivered_and_never_reaches_fcm(
    gateway: PushGateway, fcm: RunningFcmServer, user_service: RunningUserService
) -> None:
    token = new_token()
    envelope = push_envelope("0190b0a4-0000-7000-8000-000000000003", [token])
    envelope.test_mode = True

    async with running_push_worker(push_worker_settings(fcm, user_service)):
        await gateway.send(envelope)
        row = await gateway.wait_for_status(envelope.notification_id, "delivered")

    assert fcm.messages(token=token) == []
    assert row["provider_message_id"] is None
    events = await gateway.events(envelope.notification_id)
    assert [(status, detail.get("message")) for status, _, detail in events] == [
        ("sending", None),
        ("delivered", "test mode"),
    ]
