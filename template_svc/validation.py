"""Checks of request fields, raising ``InvalidArgument`` that names the field (REST naming)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from common.channels import Channel
from common.email_address import checked_email
from common.grpc import applications
from common.grpc.errors import FieldViolation, InvalidArgument
from notification.v1 import notification_pb2 as pb
from template_svc.locales import normalize_locale
from template_svc.repository import Content, TemplateKey
from template_svc.tables import TRANSACTIONAL

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CATEGORY_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_CATEGORY_NAME = 200
MAX_PART_CHARS = 64 * 1024
"""The longest source a part may have."""
MAX_DATA_ENTRIES = 64
DATA_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type", "collapse_key"})
RESERVED_DATA_PREFIXES = ("google", "gcm")
"""FCM refuses these data keys (its HTTP v1 API reserves them)."""
MAX_SENDER_NAME_CHARS = 200

REQUESTS_WITHOUT_APPLICATION = applications.requests_without_application("template_svc")

T = TypeVar("T")
V = TypeVar("V")


def _field(field: str, check: Callable[[V], T], value: V) -> T:
    """``check(value)``, or ``INVALID_ARGUMENT`` naming ``field``."""
    try:
        return check(value)
    except ValueError as error:
        raise InvalidArgument.field(field, str(error)) from None


def application_id(request: applications.ApplicationRequest) -> uuid.UUID:
    """The application the request acts in: the default one (counted) when it names none."""
    return _field(
        "application_id", lambda given: applications.application_id(given, REQUESTS_WITHOUT_APPLICATION), request
    )


def purged_application_id(value: str) -> uuid.UUID:
    """The application a purge names, never the default one."""
    return _field("application_id", applications.purged_application_id, value)


def purge_limit(value: int) -> int:
    """How many templates a purge call deletes at most."""
    return _field("limit", applications.purge_limit, value)


_PARTS_OF_CHANNEL: dict[str, dict[str, tuple[str, ...]]] = {
    Channel.EMAIL: {"required": ("subject", "body"), "unused": ("title", "data")},
    Channel.PUSH: {"required": ("title", "body"), "unused": ("subject", "html_body")},
}


def slug(value: str) -> str:
    """The slug, when it is lowercase letters, digits, ``-`` and ``_`` (at most 64, starting with a letter or
    digit)."""
    if not value:
        raise InvalidArgument.field("slug", "is required")
    if not SLUG.match(value):
        raise InvalidArgument.field(
            "slug", "must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    return value


def channel(value: int) -> Channel:
    """The channel of a request that names one."""
    try:
        return Channel.from_proto(value)
    except ValueError:
        raise InvalidArgument.field("channel", "must be CHANNEL_EMAIL or CHANNEL_PUSH") from None


def optional_channel(value: int) -> Channel | None:
    """The channel of a filter; None for CHANNEL_UNSPECIFIED (every channel)."""
    return None if value == pb.CHANNEL_UNSPECIFIED else channel(value)


def locale(value: str, default_locale: str, field: str = "locale") -> str:
    """The canonical locale tag; the default locale when ``value`` is empty."""
    if not value:
        return default_locale
    try:
        return normalize_locale(value)
    except ValueError as error:
        raise InvalidArgument.field(field, str(error)) from None


def version(value: int, *, required: bool = False) -> int:
    """A version number: at least 1, or 0 (the active one) unless ``required``."""
    if value < 0 or (required and value == 0):
        raise InvalidArgument.field("version", "must be 1 or more" if required else "must be 0 (active) or more")
    return value


class NamesTemplate(Protocol):
    """A request that names one template."""

    slug: str
    channel: pb.Channel
    locale: str


def template_key(request: NamesTemplate, default_locale: str) -> TemplateKey:
    """The slug + channel + locale a request names."""
    return TemplateKey(slug(request.slug), channel(request.channel), locale(request.locale, default_locale))


def _data_violations(data: Mapping[str, str]) -> list[FieldViolation]:
    violations = []
    if len(data) > MAX_DATA_ENTRIES:
        violations.append(FieldViolation("data", f"must have at most {MAX_DATA_ENTRIES} entries"))
    for key, source in data.items():
        field = f"data.{key}"
        if not DATA_KEY.match(key):
            violations.append(FieldViolation(field, "key must be 1-128 letters, digits, '_', '.' or '-'"))
        elif key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
            violations.append(FieldViolation(field, "key is reserved by FCM"))
        if len(source) > MAX_PART_CHARS:
            violations.append(FieldViolation(field, f"must be at most {MAX_PART_CHARS} characters"))
    return violations


def _sender_violations(channel_name: str, given: Content) -> list[FieldViolation]:
    """What is wrong with a version's sender: only email has one, a name needs an address, addresses must be
    addresses and the name one line."""
    named = {"from_name": given.from_name, "from_email": given.from_email, "reply_to": given.reply_to}
    if channel_name != Channel.EMAIL:
        return [FieldViolation(name, "is only used by email templates") for name, value in named.items() if value]
    violations = []
    for name in ("from_email", "reply_to"):
        try:
            if named[name] and checked_email(named[name]) != named[name]:
                raise ValueError("must not have leading or trailing spaces")
        except ValueError as error:
            violations.append(FieldViolation(name, str(error)))
    if given.from_name and not given.from_email:
        violations.append(FieldViolation("from_name", "needs a from_email"))
    if len(given.from_name) > MAX_SENDER_NAME_CHARS or not given.from_name.isprintable():
        violations.append(
            FieldViolation("from_name", f"must be one line of at most {MAX_SENDER_NAME_CHARS} printable characters")
        )
    return violations


def content(channel_name: str, request: pb.CreateTemplateRequest | pb.UpdateTemplateRequest) -> Content:
    """The parts of a new version, checked against what the channel needs and uses."""
    given = Content(
        request.subject,
        request.body,
        request.html_body,
        request.title,
        dict(request.data),
        request.from_name,
        request.from_email,
        request.reply_to,
        category_key(request.category or TRANSACTIONAL),
    )
    values = {"subject": given.subject, "body": given.body, "html_body": given.html_body, "title": given.title}
    rules = _PARTS_OF_CHANNEL[channel_name]
    violations = [
        FieldViolation(name, f"is required for {channel_name} templates")
        for name in rules["required"]
        if not values[name].strip()
    ]
    violations += [
        FieldViolation(name, f"is not used by {channel_name} templates and must be empty")
        for name in rules["unused"]
        if (given.data if name == "data" else values[name])
    ]
    violations += [
        FieldViolation(name, f"must be at most {MAX_PART_CHARS} characters")
        for name, source in values.items()
        if len(source) > MAX_PART_CHARS
    ]
    violations += [
        FieldViolation(name, "must not contain NUL characters")  # PostgreSQL text cannot hold them
        for name, source in (*values.items(), *((f"data.{key}", text) for key, text in given.data.items()))
        if "\x00" in source
    ]
    violations += _data_violations(given.data)
    violations += _sender_violations(channel_name, given)
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations), violations)
    return given


def category_key(value: str, field: str = "category") -> str:
    """A category key: 1-64 characters of ``a-z``, ``0-9``, ``.``, ``_`` and ``-``, starting with a letter or
    digit."""
    if not CATEGORY_KEY.match(value):
        raise InvalidArgument.field(
            field, "must be 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
        )
    return value


def category(message: pb.Category) -> tuple[str, str, bool]:
    """The key, name and transactional flag of a category to store; ``transactional`` itself is built in."""
    key = category_key(message.key, "key")
    if key == TRANSACTIONAL:
        raise InvalidArgument.field("key", "transactional is built in and cannot be changed")
    name = message.name.strip()
    if not name or len(name) > MAX_CATEGORY_NAME or not name.isprintable():
        raise InvalidArgument.field("name", f"must be 1-{MAX_CATEGORY_NAME} printable characters")
    return key, name, message.transactional
