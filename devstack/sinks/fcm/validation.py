"""Validating a ``SendMessageRequest`` the way FCM HTTP v1 does, with Google's error messages.

Field names are accepted in snake_case (what firebase-admin sends) and lowerCamelCase (proto JSON), like
Google's JSON parser; unknown fields, wrong types and a missing or doubled target are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.sinks.fcm.errors import FieldViolation, invalid_json, invalid_message

MAX_PAYLOAD_BYTES = 4096
"""FCM's limit on a message's notification and data payload."""
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")
TARGETS = ("token", "fid", "topic", "condition")
"""The message's oneof target: a registration token, a Firebase installation id, a topic or a condition."""
_TOPIC = re.compile(r"[a-zA-Z0-9\-_.~%]+")
_DURATION = re.compile(r"\d+(\.\d{1,9})?s")
_ANDROID_PRIORITIES = frozenset({"normal", "high"})

Check = Callable[[Any, str, list[FieldViolation]], None]


@dataclass(frozen=True)
class SendRequest:
    """A valid request: the message and whether FCM should only validate it (``validate_only``)."""

    message: dict[str, Any]
    validate_only: bool

    @property
    def target(self) -> tuple[str, str]:
        """Which target the message names and its value: ``("token", "abc")``."""
        for name in TARGETS:
            if name in self.message:
                return name, self.message[name]
        raise AssertionError("a validated message has a target")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _type_error(value: Any, path: str, expected: str) -> FieldViolation:
    shown = json.dumps(value)[:60]
    return FieldViolation(path, f"Invalid value at '{path}' ({expected}), {shown}")


def _string(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, str):
        violations.append(_type_error(value, path, "TYPE_STRING"))


def _boolean(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, bool):
        violations.append(_type_error(value, path, "TYPE_BOOL"))


def _struct(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, dict):
        violations.append(_type_error(value, path, "TYPE_MESSAGE"))


def _string_map(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, dict):
        violations.append(_type_error(value, path, "TYPE_MESSAGE"))
        return
    for index, item in enumerate(value.values()):
        _string(item, f"{path}[{index}].value", violations)


def _duration(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        description = (
            f"Invalid value at '{path}' (type.googleapis.com/google.protobuf.Duration), Illegal duration format"
        )
        violations.append(FieldViolation(path, description))


def _android_priority(value: Any, path: str, violations: list[FieldViolation]) -> None:
    if not isinstance(value, str) or value.lower() not in _ANDROID_PRIORITIES:
        shown = json.dumps(value)[:60]
        enum = "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority"
        violations.append(FieldViolation(path, f"Invalid value at '{path}' ({enum}), {shown}"))


def _object(fields: dict[str, Check]) -> Check:
    """A check for a JSON object with exactly these (optional) fields."""

    def check(value: Any, path: str, violations: list[FieldViolation]) -> None:
        if not isinstance(value, dict):
            violations.append(_type_error(value, path, "TYPE_MESSAGE"))
            return
        for name, item in value.items():
            field_check = fields.get(_snake(name))
            if field_check is None:
                where = f" at '{path}'" if path else ""
                description = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
                violations.append(FieldViolation(path, description))
            else:
                field_check(item, _join(path, _snake(name)), violations)

    return check


_NOTIFICATION = _object({"title": _string, "body": _string, "image": _string})
_ANDROID = _object(
    {
        "collapse_key": _string,
        "priority": _android_priority,
        "ttl": _duration,
        "restricted_package_name": _string,
        "data": _string_map,
        "notification": _struct,
        "fcm_options": _object({"analytics_label": _string}),
        "direct_boot_ok": _boolean,
        "bandwidth_constrained_ok": _boolean,
        "restricted_satellite_ok": _boolean,
    }
)
_WEBPUSH = _object(
    {
        "headers": _string_map,
        "data": _string_map,
        "notification": _struct,
        "fcm_options": _object({"link": _string, "analytics_label": _string}),
    }
)
_APNS = _object(
    {
        "headers": _string_map,
        "payload": _struct,
        "fcm_options": _object({"analytics_label": _string, "image": _string}),
        "live_activity_token": _string,
    }
)
_MESSAGE = _object(
    {
        "name": _string,
        "data": _string_map,
        "notification": _NOTIFICATION,
        "android": _ANDROID,
        "webpush": _WEBPUSH,
        "apns": _APNS,
        "fcm_options": _object({"analytics_label": _string}),
        "token": _string,
        "fid": _string,
        "topic": _string,
        "condition": _string,
    }
)
_REQUEST = _object({"message": _struct, "validate_only": _boolean})


def _normalised(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with its top-level keys in snake_case."""
    return {_snake(key): item for key, item in value.items()}


def _check_semantics(message: dict[str, Any]) -> None:
    targets = [name for name in TARGETS if name in message]
    if not targets:
        raise invalid_message("message", "Recipient of the message is not set.")
    if len(targets) > 1:
        description = f"Invalid JSON payload received. Oneof field 'target' is already set. Cannot set '{targets[1]}'"
        raise invalid_json([FieldViolation("message", description)])
    target = targets[0]
    value = message[target]
    if target in ("token", "fid") and not value:
        raise invalid_message("message.token", "The registration token is not a valid FCM registration token")
    if target == "topic" and not _TOPIC.fullmatch(value.removeprefix("/topics/")):
        raise invalid_message("message.topic", f"Invalid topic name {value}")
    if target == "condition" and not value.strip():
        raise invalid_message("message.condition", "Invalid condition expression")
    for key in message.get("data") or {}:
        if key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES):
            raise invalid_message("message.data", f"Invalid data payload key: {key}")
    payload = {"notification": message.get("notification"), "data": message.get("data")}
    if len(json.dumps(payload, separators=(",", ":")).encode()) > MAX_PAYLOAD_BYTES:
        raise invalid_message("message", f"Message is too big: the payload exceeds {MAX_PAYLOAD_BYTES} bytes")


def parse_send_request(raw: bytes) -> SendRequest:
    """The request in ``raw``; raises :class:`~devstack.sinks.fcm.errors.FcmError` (400 ``INVALID_ARGUMENT``)
    exactly where FCM would."""
    try:
        body = json.loads(raw)
    except ValueError as error:
        description = f"Invalid JSON payload received. {error}"
        raise invalid_json([FieldViolation("", description)]) from None
    violations: list[FieldViolation] = []
    _REQUEST(body, "", violations)
    if not violations and "message" not in _normalised(body):
        raise invalid_message("message", "Request contains an invalid argument.")
    if not violations:
        _MESSAGE(body.get("message"), "message", violations)
    if violations:
        raise invalid_json(violations)
    request = _normalised(body)
    message = _normalised(request["message"])
    _check_semantics(message)
    return SendRequest(message=message, validate_only=bool(request.get("validate_only", False)))
