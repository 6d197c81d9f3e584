"""Bodies of the user and auth routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from common.local_time import CLOCK_PATTERN, UTC_NAME, clock_time, timezone_name
from gateway.schemas.categories import CATEGORY_KEY_PATTERN, TRANSACTIONAL
from gateway.schemas.notifications import LOCALE_PATTERN

Platform = Literal["android", "ios", "web"]

# Documented here, checked by user_svc (user_svc/validation.py), which reports every bad field of a request at once.
EMAIL_FORMAT: dict[str, Any] = {"format": "email"}
PASSWORD_MIN_LENGTH: dict[str, Any] = {"minLength": 8}
MAX_DEVICE_TOKEN_LENGTH = 512
"""FCM's tokens are about 160 characters (user_svc checks the same limit)."""

USER_EXAMPLE: dict[str, Any] = {
    "id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "locale": "en",
    "preferences": {"email": True, "push": True, "timezone": "Europe/Lisbon", "quiet_hours": None, "categories": {}},
    "devices": [{"token": "fcm-token-1", "platform": "android", "created_at": "2026-11-27T10:00:00Z"}],
    "created_at": "2026-11-27T09:00:00Z",
    "updated_at": "2026-11-27T10:00:00Z",
}


class ChannelPreferences(BaseModel):
    """Which channels the user accepts: JSON booleans only (0, "yes" or "false" are refused)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": True, "push": False}]})

    email: StrictBool
    push: StrictBool


def _clock(value: str) -> str:
    clock_time(value)
    return value


ClockTime = Annotated[str, Field(json_schema_extra={"pattern": CLOCK_PATTERN}), AfterValidator(_clock)]
"""``HH:MM`` on a 24-hour clock (checked by :func:`common.local_time.clock_time`, as user_svc does)."""
Timezone = Annotated[
    str,
    Field(max_length=64, description="An IANA timezone name such as `Europe/Lisbon`.", examples=["Europe/Lisbon"]),
    AfterValidator(timezone_name),
]


class QuietHours(BaseModel):
    """When the user wants no `low` or `normal` notifications, in their timezone; `end` before `start` spans
    midnight."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"start": "22:00", "end": "07:00"}]})

    start: ClockTime = Field(description="When they begin, `HH:MM` (24-hour clock).")
    end: ClockTime = Field(description="When they end, `HH:MM`; differs from `start`.")

    @field_validator("end")
    @classmethod
    def _differs_from_start(cls, end: str, info: ValidationInfo) -> str:
        if info.data.get("start") == end:
            raise ValueError("must differ from start")
        return end


class CategoryChannels(BaseModel):
    """Which channels the user accepts for one category."""

    email: bool
    push: bool


class CategoryChannelsPatch(BaseModel):
    """A merge patch of one category's channels: a channel left out stays, a null one goes back to on."""

    model_config = ConfigDict(extra="forbid")

    email: StrictBool | None = None
    push: StrictBool | None = None


CategoryKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CATEGORY_KEY_PATTERN)]


class Preferences(BaseModel):
    """The user's channels, timezone, quiet hours and choices per category."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": True,
                    "push": False,
                    "timezone": "Europe/Lisbon",
                    "quiet_hours": {"start": "22:00", "end": "07:00"},
                    "categories": {"newsletter": {"email": False, "push": True}},
                }
            ]
        }
    )

    email: bool
    push: bool
    timezone: str = Field(description=f"The user's IANA timezone; `{UTC_NAME}` when they have not set one.")
    quiet_hours: QuietHours | None = Field(description="Null when the user has none.")
    categories: dict[str, CategoryChannels] = Field(
        description="The categories the user made a choice for, by key; a category not here is accepted on every "
        "channel that `email` and `push` allow. `transactional` is never here: it cannot be opted out of."
    )


class PreferencesPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of the preferences: members left out stay as they are, a member set to null
    goes back to its default (`email` and `push` on, `timezone` UTC, no `quiet_hours`). `quiet_hours` is
    replaced whole: give both `start` and `end`. `categories` is merged key by key: a category set to null forgets
    the user's choices for it, a channel left out of a category stays as it is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"timezone": "Europe/Lisbon", "quiet_hours": {"start": "22:00", "end": "07:00"}},
                {"push": False, "quiet_hours": None},
                {"categories": {"newsletter": {"email": False}}},
            ]
        },
    )

    email: StrictBool | None = None
    push: StrictBool | None = None
    timezone: Timezone | None = None
    quiet_hours: QuietHours | None = None
    categories: dict[CategoryKey, CategoryChannelsPatch | None] | None = Field(
        default=None, max_length=100, description="Not null: set a category to null to forget its choices."
    )

    @field_validator("categories")
    @classmethod
    def _categories(
        cls, categories: dict[str, CategoryChannelsPatch | None] | None
    ) -> dict[str, CategoryChannelsPatch | None] | None:
        if categories is None:
            raise ValueError("may not be null; set a category to null to forget the choices made for it")
        if TRANSACTIONAL in categories:
            raise ValueError("transactional notifications cannot be opted out of")
        return categories


class Device(BaseModel):
    """A registered push device."""

    token: str
    platform: Platform
    created_at: datetime | None


class User(BaseModel):
    """A user who can be notified; never the password."""

    model_config = ConfigDict(json_schema_extra={"examples": [USER_EXAMPLE]})

    id: uuid.UUID
    name: str
    email: str
    locale: str
    preferences: Preferences
    devices: list[Device] = Field(description="At most 20, oldest first.")
    pending_email: str | None = Field(
        default=None,
        description="An email the user asked for with their own token; the application sets `email` to confirm it.",
    )
    created_at: datetime | None
    updated_at: datetime | None


class UserPage(BaseModel):
    """One page of users."""

    items: list[User]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "password": "correct horse battery",
                    "locale": "en",
                    "preferences": {"email": True, "push": True},
                }
            ]
        },
    )

    name: str = Field(max_length=200, description="Not blank.")
    email: str = Field(max_length=254, json_schema_extra=EMAIL_FORMAT)
    password: str = Field(max_length=1024, json_schema_extra=PASSWORD_MIN_LENGTH, description="At least 8 characters.")
    locale: str | None = Field(default=None, max_length=35, pattern=LOCALE_PATTERN)
    preferences: ChannelPreferences | None = Field(default=None, description="Every channel on when left out.")


class UserUpdate(BaseModel):
    """The fields to change; the others stay as they are. With a user token, changing `email` or `password`
    needs `current_password`, and `email` becomes `pending_email` until the application sets it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Ada King", "locale": "en-GB"},
                {"password": "a new long passphrase", "current_password": "correct horse battery"},
            ]
        },
    )

    name: str | None = Field(default=None, max_length=200, description="Not blank.")
    email: str | None = Field(default=None, max_length=254, json_schema_extra=EMAIL_FORMAT)
    password: str | None = Field(
        default=None, max_length=1024, json_schema_extra=PASSWORD_MIN_LENGTH, description="At least 8 characters."
    )
    locale: str | None = Field(default=None, max_length=35, pattern=LOCALE_PATTERN)
    current_password: str | None = Field(
        default=None,
        max_length=1024,
        description="The password as it is now: required with a user token to change `email` or `password` "
        "(422 without it, 403 when wrong); an API key does not need it.",
    )


class DeviceCreate(BaseModel):
    """A push device to register."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "fcm-token-1", "platform": "android"}]}
    )

    token: str = Field(
        min_length=1,
        max_length=MAX_DEVICE_TOKEN_LENGTH,
        description="The FCM registration token; a user keeps 20, one more drops the least recently registered.",
    )
    platform: Platform


class LoginRequest(BaseModel):
    """A user's credentials."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "correct horse battery"}]},
    )

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    application_id: uuid.UUID | None = Field(
        default=None,
        description="The application the user belongs to; omitted: the `default` application. The token is "
        "valid in that application only.",
    )


class Token(BaseModel):
    """A bearer token for the user's own routes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"access_token": "eyJhbGciOi...", "token_type": "bearer", "expires_in": 3600}]}
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the token expires.")
