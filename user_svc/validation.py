"""Request validation: each check returns the clean value or raises ``ValueError`` with what is wrong, and
:class:`Checks` gathers the failures of one request into a single ``INVALID_ARGUMENT`` naming every field."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from datetime import time
from typing import Any, TypeVar

from common import local_time
from common.email_address import checked_email
from common.grpc import applications
from common.grpc.errors import FieldViolation, InvalidArgument
from common.ids import parse_uuid
from notification.v1 import notification_pb2 as pb

T = TypeVar("T")
V = TypeVar("V")

MAX_NAME_LENGTH = 200
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""The most ids one request names (a batch send's recipients)."""
MAX_DEVICE_TOKEN_LENGTH = 512
"""FCM's tokens are about 160 characters; longer ones only make the profile every send reads larger."""

REQUESTS_WITHOUT_APPLICATION = applications.requests_without_application("user_svc")

_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def has_control_character(value: str) -> bool:
    """True when ``value`` holds a control character (NUL, CR, LF, ...) or a Unicode line separator."""
    return not value.isprintable() and any(
        unicodedata.category(character) in _CONTROL_CATEGORIES for character in value
    )


def email(value: str) -> str:
    """A well-formed email address, trimmed."""
    return checked_email(value)


def name(value: str) -> str:
    """A display name that is not blank, trimmed."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters")
    if has_control_character(value):  # it goes into email headers, and PostgreSQL cannot store NUL
        raise ValueError("must not contain control characters or line breaks")
    return value


def password(value: str) -> str:
    """A password of 8 to 1024 characters, as given."""
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    return value


def locale(value: str) -> str:
    """A language tag such as ``en`` or ``pt-BR``."""
    value = value.strip()
    if not _LOCALE.match(value):
        raise ValueError("is not a locale such as en or pt-BR")
    return value


def user_id(value: str) -> uuid.UUID:
    """A user id, which is a UUID."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValueError("must be a UUID")
    return parsed


def application_id(request: applications.ApplicationRequest) -> uuid.UUID:
    """The application the request acts in: the default one (counted) when it names none."""
    return applications.application_id(request, REQUESTS_WITHOUT_APPLICATION)


def device_token(value: str) -> str:
    """A push registration token: not blank, not absurdly long."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_DEVICE_TOKEN_LENGTH:
        raise ValueError(f"must be at most {MAX_DEVICE_TOKEN_LENGTH} characters")
    if has_control_character(value):
        raise ValueError("must not contain control characters")
    return value


def timezone(value: str) -> str | None:
    """An IANA timezone name as stored; None (UTC) for an empty one."""
    return local_time.timezone_name(value) if value else None


class Checks:
    """Collects the field violations of one request; :meth:`done` raises them together."""

    def __init__(self) -> None:
        self._violations: list[FieldViolation] = []

    def check(self, field: str, check: Callable[[V], T], value: V) -> T:
        """``check(value)``, or a recorded violation of ``field`` (and a placeholder the caller must not use
        before :meth:`done`)."""
        try:
            return check(value)
        except ValueError as error:
            self._violations.append(FieldViolation(field, str(error)))
            return None  # type: ignore[return-value]

    def fail(self, field: str, description: str) -> None:
        """Record a violation found by the caller."""
        self._violations.append(FieldViolation(field, description))

    def done(self) -> None:
        """Raise ``INVALID_ARGUMENT`` naming every violation, if there is any."""
        if self._violations:
            message = "; ".join(f"{v.field}: {v.description}" for v in self._violations)
            raise InvalidArgument(message, self._violations)


PREFERENCE_PATHS = ("email", "push", "timezone", "quiet_hours", "categories.<key>")
"""The fields of ``Preferences`` an ``update_mask`` may name."""
CHANNEL_PATHS = ("email", "push")
CATEGORY_PATH_PREFIX = "categories."
TRANSACTIONAL = "transactional"
"""The built-in category, which no user can opt out of (docs/api.md "Categories")."""
"""What an ``UpdatePreferences`` without a mask sets (the REST ``PUT``)."""


def preference_changes(checks: Checks, request: pb.UpdatePreferencesRequest) -> dict[str, Any]:
    """The ``preferences`` columns an ``UpdatePreferences`` sets, by name: those its ``update_mask`` names, or
    ``email`` and ``push`` without one (then ``preferences`` is required). Each bad field goes to ``checks``."""
    paths = list(request.update_mask.paths)
    if not paths and not request.HasField("preferences"):
        checks.fail("preferences", "is required")
    wanted = request.preferences
    changes: dict[str, Any] = {}
    categories: dict[str, dict[str, bool] | None] = {}
    for path in paths or CHANNEL_PATHS:
        if path.startswith(CATEGORY_PATH_PREFIX):
            key = path.removeprefix(CATEGORY_PATH_PREFIX)
            categories[key] = _category_choice(checks, key, wanted)
            continue
        if path in CHANNEL_PATHS:
            changes[path] = getattr(wanted, path)
        elif path == "timezone":
            changes["timezone"] = checks.check("preferences.timezone", timezone, wanted.timezone)
        elif path == "quiet_hours":
            changes["quiet_start"], changes["quiet_end"] = _quiet_hours(checks, wanted)
        else:
            checks.fail("update_mask", f"unknown path {path!r}; known: {', '.join(PREFERENCE_PATHS)}")
    if categories:
        changes["categories"] = categories
    return changes


def _category_choice(checks: Checks, key: str, wanted: pb.Preferences) -> dict[str, bool] | None:
    """The channels set for category ``key`` (a patch), or None to forget the category's choices."""
    field = f"preferences.categories.{key}"
    if not _TOPIC_KEY.match(key):
        checks.fail(field, "a category key is 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit")
    elif key == TRANSACTIONAL:
        checks.fail(field, "transactional notifications cannot be opted out of")
    if key not in wanted.categories:
        return None
    choice = wanted.categories[key]
    return {channel: getattr(choice, channel) for channel in CHANNEL_PATHS if choice.HasField(channel)}


def _quiet_hours(checks: Checks, wanted: pb.Preferences) -> tuple[time | None, time | None]:
    """The start and end of the quiet hours asked for; (None, None) to clear them."""
    if not wanted.HasField("quiet_hours"):
        return None, None
    start = checks.check("preferences.quiet_hours.start", local_time.clock_time, wanted.quiet_hours.start)
    end = checks.check("preferences.quiet_hours.end", local_time.clock_time, wanted.quiet_hours.end)
    if start is not None and start == end:
        checks.fail("preferences.quiet_hours.end", "must differ from start")
    return start, end


_TOPIC_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_SUBSCRIBERS_PER_CALL = 1000
"""The most users one Subscribe or Unsubscribe names, and the largest page of subscribers."""
DEFAULT_SUBSCRIBER_PAGE_SIZE = 100


def topic_key(value: str) -> str:
    """A topic key: 1-64 characters of ``a-z 0-9 . _ -``, starting with a letter or a digit."""
    if not _TOPIC_KEY.match(value):
        raise ValueError("must be 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or a digit")
    return value


def user_ids(checks: Checks, field: str, values: Sequence[str]) -> list[uuid.UUID]:
    """1 to :data:`MAX_SUBSCRIBERS_PER_CALL` user ids, each violation named by its index, without repeats."""
    if not 1 <= len(values) <= MAX_SUBSCRIBERS_PER_CALL:
        checks.fail(field, f"must name 1 to {MAX_SUBSCRIBERS_PER_CALL} users")
        return []
    parsed = [checks.check(f"{field}.{index}", user_id, value) for index, value in enumerate(values)]
    return list(dict.fromkeys(parsed))


def subscriber_page_size(requested: int) -> int:
    """A page of subscribers: 0 means the default, above the maximum is capped, below 0 is a ValueError."""
    if requested < 0:
        raise ValueError("must not be negative")
    return min(requested or DEFAULT_SUBSCRIBER_PAGE_SIZE, MAX_SUBSCRIBERS_PER_CALL)


def subscriber_limit(requested: int) -> int:
    """How many subscriber profiles one page holds: 1 to :data:`MAX_SUBSCRIBERS_PER_CALL`."""
    if not 1 <= requested <= MAX_SUBSCRIBERS_PER_CALL:
        raise ValueError(f"must be between 1 and {MAX_SUBSCRIBERS_PER_CALL}")
    return requested


def after_user_id(value: str) -> uuid.UUID | None:
    """The user id a page of subscribers starts after: None (the first page) when empty."""
    return user_id(value) if value else None
