"""Pure logic of the push worker: building FCM messages from an envelope and classifying FCM's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from firebase_admin import exceptions, messaging
from firebase_admin.messaging import SendResponse

from notification.v1 import notification_pb2 as pb
from push_worker.messages import build_messages, device_tokens
from push_worker.outcomes import TokenResult, classify, parse_retry_after

NOTIFICATION_ID = "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01"


def envelope(tokens: list[str], priority: pb.Priority = pb.PRIORITY_NORMAL) -> pb.MessageEnvelope:
    return pb.MessageEnvelope(
        notification_id=NOTIFICATION_ID,
        priority=priority,
        push_recipient=pb.PushRecipient(device_tokens=tokens),
        push=pb.PushContent(title="T", body="B", data={"k": "v"}),
    )


def test_device_tokens_are_distinct_and_non_empty_in_order() -> None:
    assert device_tokens(envelope(["b", "a", "", "b"])) == ["b", "a"]


def test_one_message_per_token_carries_content_and_priority() -> None:
    built = build_messages(envelope(["a", "b"], pb.PRIORITY_HIGH), ["a", "b"])

    assert [m.token for m in built] == ["a", "b"]
    first = built[0]
    assert (first.notification.title, first.notification.body, first.data) == ("T", "B", {"k": "v"})
    assert first.android.priority == "high"
    assert first.apns.headers["apns-priority"] == "10"


def test_the_notification_id_is_the_collapse_key_so_a_resent_copy_replaces_the_first() -> None:
    [built] = build_messages(envelope(["a"]), ["a"])

    assert built.android.collapse_key == NOTIFICATION_ID
    assert built.apns.headers["apns-collapse-id"] == NOTIFICATION_ID
    assert built.webpush.headers["Topic"] == NOTIFICATION_ID.replace("-", "")
    assert len(built.webpush.headers["Topic"]) <= 32  # the Web Push limit


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("12", 12.0), (" 3 ", 3.0), ("soon", None), ("-1", None)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert 25 < (parse_retry_after(later) or 0) <= 30


@pytest.mark.parametrize(
    ("error", "result", "code"),
    [
        (messaging.UnregisteredError("gone"), TokenResult.DEAD, "UNREGISTERED"),
        (messaging.SenderIdMismatchError("other sender"), TokenResult.DEAD, "SENDER_ID_MISMATCH"),
        (exceptions.InvalidArgumentError("bad"), TokenResult.INVALID, "INVALID_ARGUMENT"),
        (exceptions.UnavailableError("down"), TokenResult.TRANSIENT, "UNAVAILABLE"),
        (exceptions.InternalError("oops"), TokenResult.TRANSIENT, "INTERNAL"),
        (messaging.QuotaExceededError("slow down"), TokenResult.TRANSIENT, "QUOTA_EXCEEDED"),
        (exceptions.NotFoundError("no such URL"), TokenResult.TRANSIENT, "NOT_FOUND"),
        (exceptions.PermissionDeniedError("wrong project"), TokenResult.TRANSIENT, "PERMISSION_DENIED"),
        (messaging.ThirdPartyAuthError("APNs key"), TokenResult.TRANSIENT, "THIRD_PARTY_AUTH_ERROR"),
    ],
)
def test_each_fcm_error_has_its_result(error: exceptions.FirebaseError, result: TokenResult, code: str) -> None:
    outcome = classify("t", SendResponse(None, error))

    assert (outcome.result, outcome.error_code, outcome.error) == (result, code, str(error))
    assert outcome.detail()["result"] == result.value


def test_an_accepted_send_is_delivered_with_its_message_id() -> None:
    outcome = classify("t", SendResponse({"name": "projects/p/messages/1"}, None))

    assert outcome.detail() == {"token": "t", "result": "delivered", "message_id": "projects/p/messages/1"}


def expiring(expires_at: datetime) -> pb.MessageEnvelope:
    message = envelope(["a"])
    message.expires_at.FromDatetime(expires_at)
    return message


def test_expires_at_becomes_each_platforms_time_to_live() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    expires_at = now + timedelta(hours=2)
    (built,) = build_messages(expiring(expires_at), ["a"], now=now)

    assert built.android.ttl == timedelta(hours=2)
    assert built.apns.headers["apns-expiration"] == str(int(expires_at.timestamp()))
    assert built.webpush.headers["TTL"] == "7200"


def test_a_far_expiry_is_capped_at_four_weeks_and_a_past_one_is_now_or_never() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    (far,) = build_messages(expiring(now + timedelta(days=90)), ["a"], now=now)
    (past,) = build_messages(expiring(now - timedelta(seconds=1)), ["a"], now=now)

    assert far.android.ttl == timedelta(days=28)
    assert far.webpush.headers["TTL"] == str(28 * 86400)
    assert (past.android.ttl, past.apns.headers["apns-expiration"], past.webpush.headers["TTL"]) == (
        timedelta(0),
        "0",
        "0",
    )


def test_without_expires_at_the_platforms_keep_their_defaults() -> None:
    (built,) = build_messages(envelope(["a"]), ["a"])

    assert built.android.ttl is None
    assert "apns-expiration" not in built.apns.headers
    assert "TTL" not in built.webpush.headers
