"""The FCM messages of a push envelope: one per device token, with its title, body, data and priority."""

from __future__ import annotations

import warnings

from firebase_admin import messaging

from notification.v1 import notification_pb2 as pb

_ANDROID_PRIORITY = {pb.PRIORITY_HIGH: "high"}
_APNS_PRIORITY = {pb.PRIORITY_HIGH: "10"}
_WEBPUSH_URGENCY = {pb.PRIORITY_HIGH: "high", pb.PRIORITY_LOW: "low"}


def device_tokens(envelope: pb.MessageEnvelope) -> list[str]:
    """The recipient's distinct, non-empty device tokens, in the envelope's order."""
    return [token for token in dict.fromkeys(envelope.push_recipient.device_tokens) if token]


def build_messages(envelope: pb.MessageEnvelope, tokens: list[str]) -> list[messaging.Message]:
    """One message per token. Priority: high → Android ``high``, ``apns-priority: 10``, web push
    ``Urgency: high``; anything else → Android ``normal``, ``apns-priority: 5`` and ``Urgency`` normal or low.

    The notification id is the collapse key (Android ``collapse_key``, ``apns-collapse-id``, web push ``Topic``
    as 32 hex digits): a copy sent again after a worker died mid-send replaces the first on the device instead
    of showing twice (docs/design.md §1, the at-least-once window)."""
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
