"""The FCM messages of a push envelope: one per device token, with its title, body, data and priority."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from firebase_admin import messaging

from notification.v1 import notification_pb2 as pb

_ANDROID_PRIORITY = {pb.PRIORITY_HIGH: "high"}
_APNS_PRIORITY = {pb.PRIORITY_HIGH: "10"}
_WEBPUSH_URGENCY = {pb.PRIORITY_HIGH: "high", pb.PRIORITY_LOW: "low"}
MAX_TTL = timedelta(days=28)
"""FCM's longest time to live (4 weeks), also its default for a message that names none."""


def device_tokens(envelope: pb.MessageEnvelope) -> list[str]:
    """The recipient's distinct, non-empty device tokens, in the envelope's order."""
    return [token for token in dict.fromkeys(envelope.push_recipient.device_tokens) if token]


def time_to_live(envelope: pb.MessageEnvelope, now: datetime) -> timedelta | None:
    """How long the platforms may still hold the notification for an offline device: until its ``expires_at``
    (none left once it passed, so it is delivered now or never), capped at FCM's 4 weeks; None without one."""
    if not envelope.HasField("expires_at"):
        return None
    remaining = envelope.expires_at.ToDatetime(tzinfo=UTC) - now
    return min(max(remaining, timedelta(0)), MAX_TTL)


def build_messages(
    envelope: pb.MessageEnvelope, tokens: list[str], now: datetime | None = None
) -> list[messaging.Message]:
    """One message per token. Priority: high → Android ``high``, ``apns-priority: 10``, web push
    ``Urgency: high``; anything else → Android ``normal``, ``apns-priority: 5`` and ``Urgency`` normal or low.

    The notification id is the collapse key (Android ``collapse_key``, ``apns-collapse-id``, web push ``Topic``
    as 32 hex digits): a copy sent again after a worker died mid-send replaces the first on the device instead
    of showing twice (docs/design.md §1, the at-least-once window).

    Expiry: an ``expires_at`` becomes Android's ``ttl`` and web push's ``TTL`` (the time left, see
    :func:`time_to_live`) and ``apns-expiration`` (its Unix time), so a device that comes online after it
    never shows a stale notification."""
    push = envelope.push
    notification = messaging.Notification(title=push.title or None, body=push.body or None)
    data = dict(push.data) or None
    collapse_key = envelope.notification_id
    android = messaging.AndroidConfig(
        priority=_ANDROID_PRIORITY.get(envelope.priority, "normal"), collapse_key=collapse_key or None
    )
    apns_headers = {"apns-priority": _APNS_PRIORITY.get(envelope.priority, "5")}
    webpush_headers = {"Urgency": _WEBPUSH_URGENCY.get(envelope.priority, "normal")}
    if collapse_key:
        apns_headers["apns-collapse-id"] = collapse_key
        webpush_headers["Topic"] = collapse_key.replace("-", "")
    ttl = time_to_live(envelope, now or datetime.now(UTC))
    if ttl is not None:
        android.ttl = ttl
        # APNs reads 0 as "now or never", as Android and web push read a time to live of 0
        apns_headers["apns-expiration"] = str(envelope.expires_at.seconds if ttl else 0)
        webpush_headers["TTL"] = str(int(ttl.total_seconds()))
    apns = messaging.APNSConfig(headers=apns_headers)
    webpush = messaging.WebpushConfig(headers=webpush_headers)
    with warnings.catch_warnings():
        # firebase-admin 7.7 deprecates `token` in favour of installation ids (`fid`); our devices register
        # FCM registration tokens, which FCM still addresses through `token`.
        warnings.simplefilter("ignore", DeprecationWarning)
        return [
            messaging.Message(
                token=token, notification=notification, data=data, android=android, apns=apns, webpush=webpush
            )
            for token in tokens
        ]
