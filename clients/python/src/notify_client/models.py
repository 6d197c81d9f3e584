"""Typed models of every resource the gateway answers with (docs/api.md, docs/openapi/gateway.json).

Responses may carry more fields than listed (the contract's rule), so every model keeps unknown members
(``model_extra``), and statuses, reasons and event types are plain strings: a newer gateway may send values this
client does not know yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    """A resource as the gateway sent it; members this version does not name are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Page(Model, Generic[T]):
    """One page of a cursor-paginated list; ``next_cursor`` is ``None`` on the last one."""

    items: list[T]
    next_cursor: str | None = None


class ItemList(Model, Generic[T]):
    """A list answered whole (``{"items": [...]}``)."""

    items: list[T]


# Notifications


class SendResult(Model):
    """The 202 of a send. ``replayed`` is true when the gateway answered from the first request with the same
    ``Idempotency-Key`` (header ``Idempotent-Replayed``); ``idempotency_key`` is the key that was sent."""

    notification_id: str
    status: str
    status_url: str
    reason: str | None = None
    replayed: bool = False
    idempotency_key: str | None = None


class BroadcastAccepted(Model):
    """The 202 of a send to a topic."""

    broadcast_id: str
    status: str
    status_url: str
    replayed: bool = False
    idempotency_key: str | None = None


class Notification(Model):
    """A notification's status (``GET /v1/notifications/{id}``, list items, webhook data)."""

    notification_id: str
    user_id: str | None = None
    channel: str
    template: str
    template_version: int | None = None
    locale: str | None = None
    priority: str | None = None
    status: str
    reason: str | None = None
    attempts: int = 0
    last_error: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None
    batch_id: str | None = None
    broadcast_id: str | None = None
    send_at: datetime | None = None
    request_id: str | None = None


class NotificationEvent(Model):
    """One step of a notification's history: an attempt, its provider reply, a status change."""

    at: datetime
    status: str
    attempt: int
    detail: dict[str, Any] = Field(default_factory=dict)


class RenderedContent(Model):
    """What a notification said (``GET /v1/notifications/{id}/content``); ``kept`` is false once erased."""

    notification_id: str
    channel: str
    kept: bool
    subject: str | None = None
    title: str | None = None
    body: str | None = None
    html_body: str | None = None


class FeedItem(Model):
    """A notification in a user's own feed (``GET /v1/me/notifications``), with its rendered content."""

    notification_id: str
    channel: str
    template: str
    status: str
    subject: str | None = None
    title: str | None = None
    body: str | None = None
    created_at: datetime
    updated_at: datetime


class BatchItem(Model):
    user_id: str
    notification_id: str | None = None
    status: str
    reason: str | None = None


class BatchResult(Model):
    """The 202 of a batch send: one item per recipient, in request order."""

    batch_id: str
    items: list[BatchItem]
    replayed: bool = False
    idempotency_key: str | None = None


class Broadcast(Model):
    id: str
    topic: str
    state: str
    recipients: int = 0
    queued: int = 0
    skipped: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    created_at: datetime
    completed_at: datetime | None = None


# Users


class QuietHours(Model):
    start: str
    end: str


class Preferences(Model):
    email: bool = True
    push: bool = True
    categories: dict[str, dict[str, bool]] = Field(default_factory=dict)
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None


class Device(Model):
    token: str
    platform: str
    created_at: datetime | None = None


class User(Model):
    id: str
    name: str
    email: str
    locale: str
    preferences: Preferences
    devices: list[Device] = Field(default_factory=list)
    pending_email: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Token(Model):
    access_token: str
    token_type: str
    expires_in: int


class WhoAmI(Model):
    application_id: str
    key_id: str | None = None
    scopes: list[str] = Field(default_factory=list)
    admin: bool = False


# Templates


class Template(Model):
    slug: str
    channel: str
    locale: str
    version: int
    active_version: int
    subject: str | None = None
    body: str
    html_body: str | None = None
    title: str | None = None
    data: dict[str, str] = Field(default_factory=dict)
    category: str | None = None
    from_name: str | None = None
    from_email: str | None = None
    reply_to: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class RenderedEmail(Model):
    subject: str
    text_body: str
    html_body: str | None = None


class RenderedPush(Model):
    title: str
    body: str
    data: dict[str, str] = Field(default_factory=dict)


class RenderedTemplate(Model):
    channel: str
    locale: str
    version: int
    email: RenderedEmail | None = None
    push: RenderedPush | None = None


class Category(Model):
    key: str
    name: str
    transactional: bool


class DnsRecord(Model):
    type: str
    name: str
    value: str


class SendingDomain(Model):
    domain: str
    selector: str
    dns_record: DnsRecord
    created_at: datetime | None = None
    updated_at: datetime | None = None


# Topics and suppressions


class Topic(Model):
    key: str
    name: str
    subscribers: int = 0
    created_at: datetime | None = None


class Subscription(Model):
    user_id: str
    subscribed_at: datetime


class Added(Model):
    added: int


class Removed(Model):
    removed: int


class Suppression(Model):
    address: str
    channel: str
    reason: str
    notification_id: str | None = None
    created_at: datetime


# Applications and keys


class Application(Model):
    id: str
    name: str
    rate_limit_per_minute: int | None = None
    created_at: datetime
    updated_at: datetime | None = None
    disabled_at: datetime | None = None


class ApiKey(Model):
    """A key as listed: never its secret."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    mode: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class KeyCreated(Model):
    """A new key: ``key`` is in this answer only."""

    id: str
    name: str
    key: str
    prefix: str
    scopes: list[str]
    mode: str
    created_at: datetime


# Webhooks


class Webhook(Model):
    id: str
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool
    failing_since: datetime | None = None
    disabled_reason: str | None = None
    previous_secret_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    """A new endpoint: ``secret`` is in this answer (and a rotation's) only."""

    secret: str


class SecretRotated(Model):
    secret: str
    previous_secret_expires_at: datetime


class DeliverySummary(Model):
    id: str
    event_type: str
    status: str
    attempts: int
    response_status: int | None = None
    response_ms: int | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime


class Delivery(DeliverySummary):
    """A delivery with the exact body posted (what its signature covers)."""

    endpoint_id: str
    event_at: datetime
    updated_at: datetime
    last_error: str | None = None
    body: str


class Replayed(Model):
    replayed: int


class WebhookEvent(Model):
    """A verified webhook delivery's body: ``{"type", "timestamp", "data"}``."""

    type: str
    timestamp: datetime
    data: dict[str, Any] = Field(default_factory=dict)


# Operators


class DeadLetter(Model):
    """A message the workers gave up on. A poison message (one that did not parse) has no notification."""

    id: str
    notification_id: str | None = None
    channel: str | None = None
    reason: str | None = None
    attempts: int = 0
    failed_at: datetime
    notification: Notification | None = None
    envelope: Any = None
