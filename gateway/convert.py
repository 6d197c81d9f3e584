"""Between the proto messages of user_svc and template_svc and the REST bodies of docs/design.md §3 REST."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from common.channels import Channel
from common.local_time import UTC_NAME
from gateway.errors import ProblemError
from gateway.schemas.text import is_unicode
from gateway.schemas.users import PreferencesPatch
from notification.v1 import notification_pb2 as pb
from templating import variables_from_json

PLATFORM_OF = {"android": pb.PLATFORM_ANDROID, "ios": pb.PLATFORM_IOS, "web": pb.PLATFORM_WEB}
PLATFORM_NAME = {value: name for name, value in PLATFORM_OF.items()}


def timestamp(value: timestamp_pb2.Timestamp) -> datetime | None:
    """A set timestamp as an aware datetime; an unset one as None."""
    if value.seconds == 0 and value.nanos == 0:
        return None
    return value.ToDatetime(tzinfo=UTC)


def _channel_name(value: pb.Channel) -> str:
    """The REST name of a template's channel (``email`` for one this gateway does not know)."""
    try:
        return Channel.from_proto(value)
    except ValueError:
        return Channel.EMAIL


def device_body(device: pb.Device) -> dict[str, Any]:
    return {
        "token": device.token,
        "platform": PLATFORM_NAME.get(device.platform, "android"),
        "created_at": timestamp(device.created_at),
    }


def preferences_body(preferences: pb.Preferences) -> dict[str, Any]:
    quiet_hours = preferences.quiet_hours if preferences.HasField("quiet_hours") else None
    return {
        "email": preferences.email,
        "push": preferences.push,
        "timezone": preferences.timezone or UTC_NAME,
        "quiet_hours": None if quiet_hours is None else {"start": quiet_hours.start, "end": quiet_hours.end},
        "categories": {
            key: {
                "email": choice.email if choice.HasField("email") else True,
                "push": choice.push if choice.HasField("push") else True,
            }
            for key, choice in sorted(preferences.categories.items())
        },
    }


def preferences_patch(patch: PreferencesPatch) -> tuple[pb.Preferences, list[str]]:
    """The preferences and the ``update_mask`` of a merge patch: the mask names each member given; a null one is
    sent as its default (a channel on, UTC as the empty timezone, no quiet hours)."""
    wanted = pb.Preferences(email=patch.email is not False, push=patch.push is not False, timezone=patch.timezone or "")
    if patch.quiet_hours is not None:
        wanted.quiet_hours.start, wanted.quiet_hours.end = patch.quiet_hours.start, patch.quiet_hours.end
    mask = sorted(patch.model_fields_set - {"categories"})
    for key, choice in (patch.categories or {}).items():
        mask.append(f"categories.{key}")
        if choice is not None:  # a null channel goes back to on
            wanted.categories[key].CopyFrom(
                pb.CategoryChannels(
                    **{channel: getattr(choice, channel) is not False for channel in choice.model_fields_set}
                )
            )
    return wanted, mask


def user_body(user: pb.User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "locale": user.locale,
        "preferences": preferences_body(user.preferences),
        "devices": [device_body(device) for device in user.devices],
        "pending_email": user.pending_email or None,
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
    }


def template_body(template: pb.Template) -> dict[str, Any]:
    return {
        "slug": template.slug,
        "channel": _channel_name(template.channel),
        "locale": template.locale,
        "version": template.version,
        "active_version": template.active_version,
        "subject": template.subject or None,
        "body": template.body,
        "html_body": template.html_body or None,
        "title": template.title or None,
        "data": dict(template.data),
        "from_name": template.from_name or None,
        "from_email": template.from_email or None,
        "reply_to": template.reply_to or None,
        "category": template.category or "transactional",
        "created_at": timestamp(template.created_at),
        "updated_at": timestamp(template.updated_at),
    }


def rendered_body(channel: str, rendered: pb.RenderTemplateResponse) -> dict[str, Any]:
    email = push = None
    if rendered.WhichOneof("content") == "email":
        email = {
            "subject": rendered.email.subject,
            "text_body": rendered.email.text_body,
            "html_body": rendered.email.html_body or None,
        }
    elif rendered.WhichOneof("content") == "push":
        push = {"title": rendered.push.title, "body": rendered.push.body, "data": dict(rendered.push.data)}
    return {"channel": channel, "locale": rendered.locale, "version": rendered.version, "email": email, "push": push}


MAX_VARIABLE_DEPTH = 20
"""How deeply template variables may nest (a protobuf ``Struct`` stops parsing at about 32 levels)."""


def _variable_problem(value: Any, field: str, depth: int) -> ProblemError | None:
    """Why ``value`` cannot travel as a template variable: too deep, not a finite number, not Unicode."""
    if isinstance(value, str):
        return None if is_unicode(value) else ProblemError.field(field, "is not valid Unicode text")
    if isinstance(value, float):
        return None if math.isfinite(value) else ProblemError.field(field, "must be a finite number")
    if not isinstance(value, dict | list):
        return None
    if depth >= MAX_VARIABLE_DEPTH:
        return ProblemError.field(field, f"nests deeper than {MAX_VARIABLE_DEPTH} levels")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        name = f"{field}.{key}" if isinstance(key, str) else f"{field}[{key}]"
        if isinstance(key, str) and not is_unicode(key):
            return ProblemError.field(field, "has a key that is not valid Unicode text")
        problem = _variable_problem(item, name, depth + 1)
        if problem is not None:
            return problem
    return None


def check_variables(variables: dict[str, Any]) -> None:
    """422 naming the variable that can neither travel nor render: nested past :data:`MAX_VARIABLE_DEPTH`, NaN
    or infinite, or text with a lone surrogate (which no protobuf string, envelope included, can carry)."""
    problem = _variable_problem(variables, "variables", 0)
    if problem is not None:
        raise problem


def renderable_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """The template variables as the in-process renderer takes them (numbers as a ``Struct`` would carry them);
    422 naming the variable that cannot be rendered (:func:`check_variables`, or a number with no double)."""
    check_variables(variables)
    try:
        return variables_from_json(variables)
    except OverflowError:
        raise ProblemError.field("variables", "holds a number too large for a double") from None
    except ValueError:
        raise ProblemError.field("variables", "holds NaN or an infinity, which JSON numbers cannot be") from None


def variables_struct(variables: dict[str, Any]) -> struct_pb2.Struct:
    """The template variables as a protobuf ``Struct`` (numbers become doubles); 422 naming the variable that
    cannot be one (:func:`check_variables`), or for a number with no double (10**400)."""
    check_variables(variables)
    struct = struct_pb2.Struct()
    try:
        struct.update(variables)
    except (ValueError, TypeError, OverflowError):
        raise ProblemError.field("variables", "holds a number too large for a double") from None
    return struct


def topic_body(topic: pb.Topic) -> dict[str, Any]:
    return {
        "key": topic.key,
        "name": topic.name,
        "subscribers": topic.subscribers,
        "created_at": timestamp(topic.created_at),
    }


def subscription_body(subscription: pb.Subscription) -> dict[str, Any]:
    return {"user_id": subscription.user_id, "subscribed_at": timestamp(subscription.subscribed_at)}
