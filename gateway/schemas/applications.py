"""Bodies of the application and key routes, and of ``GET /v1/auth/whoami`` (docs/api.md "Applications and
keys")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from gateway.schemas.text import is_unicode
from gateway.scopes import Scope

KNOWN_SCOPES = ", ".join(Scope)


def _storable(text: str) -> str:
    if "\x00" in text or not is_unicode(text):
        raise ValueError("must be valid Unicode text without NUL characters")
    return text


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
RateLimit = Annotated[
    int | None,
    Field(ge=0, le=100_000_000, description="Sends per minute; null = the deployment's `RATE_LIMIT_KEY_PER_MINUTE`."),
]


class ApplicationCreate(BaseModel):
    """A new application."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Shop (staging)"}]})

    name: Name
    rate_limit_per_minute: RateLimit = None


class ApplicationUpdate(BaseModel):
    """The fields to change; a field left out keeps its value, `rate_limit_per_minute: null` restores the
    deployment's limit."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rate_limit_per_minute": 600}]})

    name: Name | None = None
    rate_limit_per_minute: RateLimit = None

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class Application(BaseModel):
    """An application: the unit of isolation of users, templates and notifications."""

    id: uuid.UUID
    name: str
    rate_limit_per_minute: int | None
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = Field(description="Always null here: a disabled application is not found.")


class ApplicationPage(BaseModel):
    """One page of applications, oldest first."""

    items: list[Application]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def _scopes(names: list[str]) -> list[Scope]:
    """The scopes named, each once, in the order given; an unknown one is named in the error."""
    scopes: list[Scope] = []
    for name in names:
        try:
            scope = Scope(name)
        except ValueError:
            raise ValueError(f"unknown scope {name!r}; known: {KNOWN_SCOPES}") from None
        if scope not in scopes:
            scopes.append(scope)
    return scopes


class KeyCreate(BaseModel):
    """A new key of an application."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "checkout service", "scopes": ["notifications:send"]}]},
    )

    name: Name
    scopes: Annotated[list[str], Field(min_length=1, max_length=64, description=f"Any of: {KNOWN_SCOPES}.")]
    mode: Literal["live", "test"] = Field(
        default="live", description="`test`: sends are recorded as delivered and never handed to a provider."
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, names: list[str]) -> list[str]:
        return [str(scope) for scope in _scopes(names)]


class ApiKey(BaseModel):
    """A key as listed: never its secret."""

    id: str = Field(description="The `<key id>` of `nk_<key id>_<secret>`.")
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it; not enough to use it.")
    scopes: list[str]
    mode: Literal["live", "test"]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None = Field(description="Set once revoked: the key is refused from then on.")


class ApiKeyList(BaseModel):
    """Every key of an application, revoked ones included, oldest first."""

    items: list[ApiKey]


class KeyCreated(BaseModel):
    """A key just made. `key` is shown this once: only its hash is kept."""

    id: str
    name: str
    key: str = Field(description="Send as `X-API-Key`. Shown only in this response.")
    prefix: str
    scopes: list[str]
    mode: Literal["live", "test"]
    created_at: datetime


class WhoAmI(BaseModel):
    """What the credential of the request is."""

    application_id: uuid.UUID
    key_id: str | None = Field(description="The key's id; null for a user token.")
    scopes: list[str] = Field(description="Empty for a user token, whose routes check the user instead.")
    admin: bool = Field(description="Whether this is the operator's key.")
