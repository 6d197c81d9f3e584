"""PushDeliverer with real firebase-admin against the local FCM server, and a real user_svc for dead tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from delivery.outcome import PermanentError, TransientError
from notification.v1 import notification_pb2 as pb
from push_worker.deliverer import PushDeliverer
from push_worker.devices import DeviceRegistry
from push_worker.fcm import FcmClient
from tests.integration.push_worker.helpers import Users, new_token, push_envelope
from tests.support.fcm_server import RunningFcmServer

USER_ID = "0190b0a4-0000-7000-8000-000000000001"
"""A recipient for tests that remove no device."""


def results(detail: dict[str, object]) -> dict[str, str]:
    """token → result from a deliverer outcome's detail."""
    return {device["token"]: device["result"] for device in detail["devices"]}  # type: ignore[attr-defined]


async def test_a_push_reaches_every_device_with_its_content_and_high_priority(
    deliverer: PushDeliverer, fcm: RunningFcmServer
) -> None:
    tokens = [new_token(), new_token()]
    envelope = push_envelope(USER_ID, tokens, data={"order": "42"}, priority=pb.PRIORITY_HIGH)

    delivered = await deliverer.deliver(envelope)

    for token in tokens:
        [record] = fcm.messages(token=token)
        assert record["message"] == {
            "token": token,
            "notification": {"title": "Your order shipped", "body": "It arrives tomorrow."},
            "data": {"order": "42"},
            "android": {"priority": "high", "collapse_key": envelope.notification_id},
            "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": envelope.notification_id}},
            "webpush": {"headers": {"Urgency": "high", "Topic": envelope.notification_id.replace("-", "")}},
        }
    assert delivered.provider_message_id == fcm.messages(token=tokens[0])[0]["name"]
    assert results(delivered.detail) == dict.fromkeys(tokens, "delivered")
    assert [d["message_id"] for d in delivered.detail["devices"]] == [fcm.messages(token=t)[0]["name"] for t in tokens]


async def test_expires_at_reaches_fcm_as_each_platforms_expiry(deliverer: PushDeliverer, fcm: RunningFcmServer) -> None:
    token = new_token()
    envelope = push_envelope(USER_ID, [token])
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    envelope.expires_at.FromDatetime(expires_at)

    await deliverer.deliver(envelope)

    [record] = fcm.messages(token=token)
    message = record["message"]
    ttl_seconds = float(message["android"]["ttl"].removesuffix("s"))
    assert 3590 < ttl_seconds <= 3600
    assert message["apns"]["headers"]["apns-expiration"] == str(int(expires_at.timestamp()))
    assert 3590 < int(message["webpush"]["headers"]["TTL"]) <= 3600


@pytest.mark.parametrize(
    ("priority", "android", "apns", "urgency"),
    [
        (pb.PRIORITY_NORMAL, "normal", "5", "normal"),
        (pb.PRIORITY_UNSPECIFIED, "normal", "5", "normal"),
        (pb.PRIORITY_LOW, "normal", "5", "low"),
    ],
)
async def test_other_priorities_map_to_normal_fcm_priority(
    deliverer: PushDeliverer, fcm: RunningFcmServer, priority: pb.Priority, android: str, apns: str, urgency: str
) -> None:
    token = new_token()

    envelope = push_envelope(USER_ID, [token], priority=priority)
    await deliverer.deliver(envelope)

    [record] = fcm.messages(token=token)
    assert record["message"]["android"]["priority"] == android
    assert record["message"]["apns"]["headers"]["apns-priority"] == apns
    assert record["message"]["webpush"]["headers"]["Urgency"] == urgency
    assert "data" not in record["message"]


async def test_dead_tokens_are_removed_from_the_user_and_the_live_device_still_gets_it(
    deliverer: PushDeliverer, fcm: RunningFcmServer, users: Users
) -> None:
    live, unregistered, mismatched = new_token(), new_token("unregistered"), new_token("sender-id-mismatch")
    user_id = await users.create([live, unregistered, mismatched])

    delivered = await deliverer.deliver(push_envelope(user_id, [live, unregistered, mismatched]))

    assert await users.device_tokens(user_id) == [live]
    assert results(delivered.detail) == {live: "delivered", unregistered: "dead", mismatched: "dead"}
    dead = [d for d in delivered.detail["devices"] if d["result"] == "dead"]
    assert [(d["error_code"], d["device"]) for d in dead] == [
        ("UNREGISTERED", "removed"),
        ("SENDER_ID_MISMATCH", "removed"),
    ]
    assert len(fcm.messages()) == 1


async def test_a_token_registered_as_unregistered_is_removed(
    deliverer: PushDeliverer, fcm: RunningFcmServer, users: Users
) -> None:
    token = new_token()
    user_id = await users.create([token])
    fcm.fail(token, "unregistered")

    with pytest.raises(PermanentError) as failure:
        await deliverer.deliver(push_envelope(user_id, [token]))

    assert failure.value.reason == "no_live_device"
    assert await users.device_tokens(user_id) == []


async def test_a_dead_token_the_user_no_longer_has_is_fine(deliverer: PushDeliverer, users: Users) -> None:
    user_id = await users.create([])
    gone = new_token("unregistered")

    with pytest.raises(PermanentError) as failure:
        await deliverer.deliver(push_envelope(user_id, [gone]))

    assert failure.value.reason == "no_live_device"
    assert failure.value.detail["devices"][0]["device"] == "already_gone"


async def test_a_dead_token_is_kept_for_later_when_user_svc_cannot_be_reached(fcm: RunningFcmServer) -> None:
    unreachable = PushDeliverer(
        FcmClient(str(fcm.credentials_path), fcm.url),
        DeviceRegistry("127.0.0.1:1", "no-server-listens", timeout_seconds=0.5),
    )
    live, dead = new_token(), new_token("unregistered")
    try:
        delivered = await unreachable.deliver(push_envelope(USER_ID, [live, dead]))
    finally:
        await unreachable.close()

    assert results(delivered.detail) == {live: "delivered", dead: "dead"}
    assert delivered.detail["devices"][1]["device"] == "remove_failed"


async def test_invalid_argument_fails_the_message_and_keeps_the_token(
    deliverer: PushDeliverer, fcm: RunningFcmServer, users: Users
) -> None:
    token = new_token()
    user_id = await users.create([token])
    fcm.fail(token, "invalid")

    with pytest.raises(PermanentError) as failure:
        await deliverer.deliver(push_envelope(user_id, [token]))

    assert failure.value.reason == "invalid_argument"
    assert "INVALID_ARGUMENT" in failure.value.message
    assert failure.value.detail["devices"] == [
        {
            "token": token,
            "result": "invalid",
            "error_code": "INVALID_ARGUMENT",
            "error": "The registration token is not a valid FCM registration token",
        }
    ]
    assert await users.device_tokens(user_id) == [token]


async def test_quota_exceeded_is_transient_with_fcms_retry_after(
    deliverer: PushDeliverer, fcm: RunningFcmServer
) -> None:
    token = new_token()
    fcm.fail(token, "quota", retry_after=7)

    with pytest.raises(TransientError) as failure:
        await deliverer.deliver(push_envelope(USER_ID, [token]))

    assert failure.value.retry_after == 7
    assert failure.value.detail["devices"][0]["error_code"] == "QUOTA_EXCEEDED"


@pytest.mark.usefixtures("fast_sdk_retries")
@pytest.mark.parametrize("behaviour", ["unavailable", "internal"])
async def test_server_errors_are_transient_once_the_sdk_gave_up(
    deliverer: PushDeliverer, fcm: RunningFcmServer, behaviour: str
) -> None:
    token = new_token()
    fcm.fail(token, behaviour)

    with pytest.raises(TransientError) as failure:
        await deliverer.deliver(push_envelope(USER_ID, [token]))

    assert failure.value.retry_after is None
    assert failure.value.detail["devices"][0]["error_code"] == behaviour.upper()


@pytest.mark.usefixtures("fast_sdk_retries")
async def test_the_sdk_retries_a_passing_outage_by_itself(deliverer: PushDeliverer, fcm: RunningFcmServer) -> None:
    token = new_token()
    fcm.fail(token, "unavailable", times=2)

    delivered = await deliverer.deliver(push_envelope(USER_ID, [token]))

    assert results(delivered.detail) == {token: "delivered"}


async def test_partial_success_is_delivered_with_each_tokens_outcome(
    deliverer: PushDeliverer, fcm: RunningFcmServer
) -> None:
    accepted, throttled, invalid = new_token(), new_token("quota"), new_token("invalid")

    delivered = await deliverer.deliver(push_envelope(USER_ID, [accepted, throttled, invalid]))

    assert results(delivered.detail) == {accepted: "delivered", throttled: "transient", invalid: "invalid"}
    assert delivered.detail["devices"][1]["retry_after"] == 60
    assert [r["message"]["token"] for r in fcm.messages()] == [accepted]


async def test_a_transient_failure_wins_over_dead_tokens_and_they_are_still_removed(
    deliverer: PushDeliverer, users: Users
) -> None:
    dead, throttled = new_token("unregistered"), new_token("quota")
    user_id = await users.create([dead, throttled])

    with pytest.raises(TransientError):
        await deliverer.deliver(push_envelope(user_id, [dead, throttled]))

    assert await users.device_tokens(user_id) == [throttled]


async def test_a_recipient_without_devices_fails_without_calling_fcm(
    deliverer: PushDeliverer, fcm: RunningFcmServer
) -> None:
    fcm.fail("*", "internal")

    with pytest.raises(PermanentError) as failure:
        await deliverer.deliver(push_envelope(USER_ID, []))

    assert failure.value.reason == "no_live_device"
    assert fcm.messages() == []
