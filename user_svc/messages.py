"""Between the repository's records and the contract's messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from common.local_time import clock_text
from notification.v1 import notification_pb2 as pb
from user_svc import repository, topics

_PLATFORM_OF_ENUM = {pb.PLATFORM_ANDROID: "android", pb.PLATFORM_IOS: "ios", pb.PLATFORM_WEB: "web"}
_ENUM_OF_PLATFORM = {stored: value for value, stored in _PLATFORM_OF_ENUM.items()}


def platform(value: int) -> str:
    """The stored platform of a ``Platform`` value; ValueError when unset or unknown."""
    try:
        return _PLATFORM_OF_ENUM[value]  # type: ignore[index]
    except KeyError:
        raise ValueError("must be PLATFORM_ANDROID, PLATFORM_IOS or PLATFORM_WEB") from None


def timestamp(value: datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def device(record: repository.Device) -> pb.Device:
    """The message of a device."""
    return pb.Device(
        token=record.token, platform=_ENUM_OF_PLATFORM[record.platform], created_at=timestamp(record.created_at)
    )


def preferences(record: repository.Preferences) -> pb.Preferences:
    """The message of a user's preferences: an empty timezone for UTC, no ``quiet_hours`` for none."""
    message = pb.Preferences(email=record.email, push=record.push, timezone=record.timezone or "")
    for key, channels in record.categories.items():
        message.categories[key].CopyFrom(pb.CategoryChannels(**channels))
    if record.quiet_hours is not None:
        message.quiet_hours.start = clock_text(record.quiet_hours.start)
        message.quiet_hours.end = clock_text(record.quiet_hours.end)
    return message


def user(record: repository.User) -> pb.User:
    """The message of a user (never with the password hash, which the record does not hold)."""
    return pb.User(
        id=str(record.id),
        name=record.name,
        email=record.email,
        locale=record.locale,
        preferences=preferences(record.preferences),
        devices=[device(item) for item in record.devices],
        created_at=timestamp(record.created_at),
        updated_at=timestamp(record.updated_at),
        pending_email=record.pending_email or "",
    )


def profile(record: repository.Profile) -> pb.NotificationProfile:
    """The message of a notification profile."""
    return pb.NotificationProfile(
        user_id=str(record.user_id),
        email=record.email,
        name=record.name,
        locale=record.locale,
        preferences=preferences(record.preferences),
        device_tokens=record.device_tokens,
        token_version=record.token_version,
    )


def topic(record: topics.Topic) -> pb.Topic:
    """The message of a topic."""
    return pb.Topic(
        key=record.key, name=record.name, subscribers=record.subscribers, created_at=timestamp(record.created_at)
    )


def subscription(record: topics.Subscription) -> pb.Subscription:
    """The message of a subscription."""
    return pb.Subscription(user_id=str(record.user_id), subscribed_at=timestamp(record.subscribed_at))
