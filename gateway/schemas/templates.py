"""Bodies of the template routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.email_address import MAX_EMAIL_LENGTH, checked_email
from gateway.schemas.categories import CATEGORY_KEY_PATTERN
from gateway.schemas.notifications import LOCALE_PATTERN, SLUG_PATTERN, ChannelName
from gateway.schemas.text import storable_map
from gateway.schemas.users import EMAIL_FORMAT

TEMPLATE_EXAMPLE: dict[str, Any] = {
    "slug": "welcome",
    "channel": "email",
    "locale": "en",
    "version": 2,
    "active_version": 2,
    "subject": "Welcome, {{ user.name }}",
    "body": "Hello {{ name }}, start here: {{ link }}",
    "html_body": '<p>Hello {{ name }}, <a href="{{ link }}">start here</a></p>',
    "title": None,
    "data": {},
    "from_name": "Example Support",
    "from_email": "support@mail.example.com",
    "reply_to": "help@example.com",
    "category": "transactional",
    "created_at": "2026-11-27T09:00:00Z",
    "updated_at": "2026-11-27T10:00:00Z",
}


class TemplateContent(BaseModel):
    """The parts of a template version (email: subject + body, html_body optional; push: title + body)."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    locale: str = Field(default="en", max_length=35, pattern=LOCALE_PATTERN)
    subject: str | None = Field(default=None, max_length=2000)
    body: str = Field(max_length=60000)
    html_body: str | None = Field(default=None, max_length=60000)
    title: str | None = Field(default=None, max_length=2000)
    data: dict[str, str] | None = None
    from_name: str | None = Field(
        default=None, max_length=200, description="Email: the sender's display name; needs `from_email`."
    )
    from_email: str | None = Field(
        default=None,
        max_length=MAX_EMAIL_LENGTH,
        description="Email: the sender's address, on one of the application's sending domains "
        "(`PUT /v1/sending-domains/{domain}`); default: the deployment's sender.",
        json_schema_extra=EMAIL_FORMAT,
    )
    reply_to: str | None = Field(
        default=None,
        max_length=MAX_EMAIL_LENGTH,
        description="Email: the `Reply-To` address.",
        json_schema_extra=EMAIL_FORMAT,
    )
    category: str = Field(
        default="transactional",
        max_length=64,
        pattern=CATEGORY_KEY_PATTERN,
        description="The key of the application's category (`GET /v1/categories`); an unknown one is 422.",
    )

    @field_validator("data")
    @classmethod
    def _storable(cls, data: dict[str, str] | None) -> dict[str, str] | None:
        return None if data is None else storable_map(data)

    @field_validator("from_email", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else checked_email(value)

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise ValueError("must be one line of printable characters")
        return value

    @model_validator(mode="after")
    def _sender(self) -> TemplateContent:
        if self.from_name and not self.from_email:
            raise ValueError("from_name needs a from_email")
        if self.channel == "push" and (self.from_name or self.from_email or self.reply_to):
            raise ValueError("from_name, from_email and reply_to are only used by email templates")
        return self


class TemplateCreate(TemplateContent):
    """Version 1 of a new template."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "slug": "welcome",
                    "channel": "email",
                    "locale": "en",
                    "subject": "Welcome, {{ user.name }}",
                    "body": "Hello {{ name }}, start here: {{ link }}",
                }
            ]
        },
    )

    slug: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)


class TemplateUpdate(TemplateContent):
    """The full content of a new version; `slug`, when given, must match the path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"channel": "push", "locale": "en", "title": "Hi {{ user.name }}", "body": "You have mail"}]
        },
    )

    slug: str | None = Field(default=None, min_length=1, max_length=64, pattern=SLUG_PATTERN)


class Template(BaseModel):
    """One version of a template."""

    model_config = ConfigDict(json_schema_extra={"examples": [TEMPLATE_EXAMPLE]})

    slug: str
    channel: ChannelName
    locale: str
    version: int
    active_version: int
    subject: str | None
    body: str
    html_body: str | None
    title: str | None
    data: dict[str, str]
    from_name: str | None = Field(description="Email: the sender's name; null: the deployment's sender.")
    from_email: str | None = Field(description="Email: the sender's address; null: the deployment's sender.")
    reply_to: str | None
    category: str = Field(description="The category key of this version.")
    created_at: datetime | None
    updated_at: datetime | None


class TemplatePage(BaseModel):
    """One page of templates (the active version of each)."""

    items: list[Template]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TemplateVersions(BaseModel):
    """Every version of a template, oldest first."""

    items: list[Template]


class RenderUser(BaseModel):
    """The recipient a preview renders for, seen as `user`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    locale: str = Field(default="", max_length=35)


class TemplateDraft(BaseModel):
    """Parts not saved yet, rendered instead of a stored version (an editor's preview as the author types)."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=2000)
    body: str = Field(max_length=60000)
    html_body: str | None = Field(default=None, max_length=60000)
    title: str | None = Field(default=None, max_length=2000)
    data: dict[str, str] | None = None

    @field_validator("data")
    @classmethod
    def _storable(cls, data: dict[str, str] | None) -> dict[str, str] | None:
        return None if data is None else storable_map(data)


class RenderRequest(BaseModel):
    """A preview: render a template with variables."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"channel": "email", "locale": "pt-BR", "variables": {"name": "Ada", "link": "https://example.com"}}
            ]
        },
    )

    channel: ChannelName
    locale: str | None = Field(default=None, max_length=35, pattern=LOCALE_PATTERN)
    variables: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    user: RenderUser | None = None
    draft: TemplateDraft | None = Field(
        default=None,
        description="Render these unsaved parts instead of a stored version (answered as version 0); the template"
        " need not exist. Not with `version`.",
    )

    @model_validator(mode="after")
    def _draft_or_version(self) -> RenderRequest:
        if self.draft is not None and self.version is not None:
            raise ValueError("give a draft or a version, not both")
        return self


class RenderedEmail(BaseModel):
    """A rendered email."""

    subject: str
    text_body: str
    html_body: str | None


class RenderedPush(BaseModel):
    """A rendered push notification."""

    title: str
    body: str
    data: dict[str, str]


class RenderedTemplate(BaseModel):
    """The rendered parts: `email` or `push`, by channel."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "email",
                    "locale": "pt",
                    "version": 2,
                    "email": {"subject": "Bem-vinda, Ada", "text_body": "Olá Ada", "html_body": None},
                    "push": None,
                }
            ]
        }
    )

    channel: ChannelName
    locale: str = Field(description="The locale rendered, after fallback.")
    version: int
    email: RenderedEmail | None
    push: RenderedPush | None
