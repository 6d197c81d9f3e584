"""Every route of the REST contract (docs/api.md), grouped by resource. Each call is defined once, as a function
building a :class:`~notify_client._call.Call`; ``Client`` and ``AsyncClient`` run the same definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx

from notify_client._call import Call, adapted, body, idempotency_headers, model, no_content
from notify_client._endpoints import ModeT, Resource, endpoint, paginated
from notify_client.models import (
    Added,
    ApiKey,
    Application,
    BatchResult,
    Broadcast,
    BroadcastAccepted,
    Category,
    DeadLetter,
    Delivery,
    DeliverySummary,
    Device,
    FeedItem,
    ItemList,
    KeyCreated,
    Model,
    Notification,
    NotificationEvent,
    Page,
    Preferences,
    Removed,
    RenderedContent,
    RenderedTemplate,
    Replayed,
    SecretRotated,
    SendingDomain,
    SendResult,
    Subscription,
    Suppression,
    Template,
    Token,
    Topic,
    User,
    Webhook,
    WebhookCreated,
    WhoAmI,
)

A = TypeVar("A", SendResult, BroadcastAccepted, BatchResult)
SendAt = datetime | str | Mapping[str, str]
"""An RFC 3339 instant, or ``{"local_time": "09:00", "date"?: "2027-01-15"}`` in each recipient's timezone."""


def _segment(value: object) -> str:
    """A path segment, escaped (a device token or an address may hold ``/`` or ``@``)."""
    return quote(str(value), safe="")


def _page(item: type[Any]) -> Any:
    return adapted(Page[item])  # type: ignore[valid-type]


def _accepted(cls: type[A], key: str) -> Any:
    """Decode a send's 202, noting whether it was replayed and which Idempotency-Key it used."""

    def decode(response: httpx.Response) -> A:
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        return cls.model_validate({**response.json(), "replayed": replayed, "idempotency_key": key})

    return decode


def _send_call(cls: type[A], path: str, payload: dict[str, Any], key: str | None, request_id: str | None) -> Call[A]:
    headers = idempotency_headers(key)
    if request_id:
        headers["X-Request-ID"] = request_id
    return Call("POST", path, _accepted(cls, headers["Idempotency-Key"]), json=payload, headers=headers)


class SendOptions(TypedDict, total=False):
    """What a send, a topic send and a batch take besides their recipients (docs/api.md §4)."""

    variables: Mapping[str, Any]
    locale: str
    priority: str
    metadata: Mapping[str, str]
    expires_at: datetime | str
    send_at: SendAt


class Notifications(Resource[ModeT]):
    """Sends, their status and history, lists, cancel (docs/api.md §4, §5). Every send takes ``idempotency_key``
    (default: a new UUID, reused by every retry of this send, so a lost answer never sends twice) and
    ``request_id`` (``X-Request-ID``, to follow it through the logs)."""

    @endpoint
    def send(
        self,
        /,
        user_id: str,
        channel: str,
        template: str,
        *,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        **options: Unpack[SendOptions],
    ) -> Call[SendResult]:
        """Send one notification (202)."""
        payload = body(user_id=user_id, channel=channel, template=template, **options)
        return _send_call(SendResult, "/v1/notifications/send", payload, idempotency_key, request_id)

    @endpoint
    def send_to_topic(
        self,
        /,
        topic: str,
        channel: str,
        template: str,
        *,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        **options: Unpack[SendOptions],
    ) -> Call[BroadcastAccepted]:
        """Send to every subscriber of ``topic``: a broadcast (202), fanned out in the background."""
        payload = body(to={"topic": topic}, channel=channel, template=template, **options)
        return _send_call(BroadcastAccepted, "/v1/notifications/send", payload, idempotency_key, request_id)

    @endpoint
    def send_batch(
        self,
        /,
        channel: str,
        template: str,
        recipients: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        **options: Unpack[SendOptions],
    ) -> Call[BatchResult]:
        """One template to 1-1,000 recipients (``[{"user_id", "variables"?}]``); one key covers the batch."""
        payload = body(channel=channel, template=template, recipients=list(recipients), **options)
        return _send_call(BatchResult, "/v1/notifications/batch", payload, idempotency_key, request_id)

    @endpoint
    def get(self, notification_id: str) -> Call[Notification]:
        """A notification's status, attempts and times."""
        return Call("GET", f"/v1/notifications/{_segment(notification_id)}", model(Notification))

    @endpoint
    def events(self, notification_id: str) -> Call[list[NotificationEvent]]:
        """The history, oldest first: each attempt and what the provider answered."""
        return Call(
            "GET",
            f"/v1/notifications/{_segment(notification_id)}/events",
            lambda response: ItemList[NotificationEvent].model_validate(response.json()).items,
        )

    @endpoint
    def content(self, notification_id: str) -> Call[RenderedContent]:
        """What the recipient was sent, while the content is kept."""
        return Call("GET", f"/v1/notifications/{_segment(notification_id)}/content", model(RenderedContent))

    @endpoint
    def cancel(self, notification_id: str) -> Call[Notification]:
        """Call it off while no worker has claimed it (409 ``not-cancellable`` otherwise)."""
        return Call("POST", f"/v1/notifications/{_segment(notification_id)}/cancel", model(Notification))

    def _list(
        self,
        *,
        user_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        template: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        updated_after: datetime | str | None = None,
        batch_id: str | None = None,
        broadcast_id: str | None = None,
        request_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[Notification]]:
        """One page of the application's notifications, newest first, filtered."""
        params: dict[str, Any] = {
            "user_id": user_id,
            "status": status,
            "channel": channel,
            "template": template,
            "created_after": _instant(created_after),
            "created_before": _instant(created_before),
            "updated_after": _instant(updated_after),
            "batch_id": batch_id,
            "broadcast_id": broadcast_id,
            "request_id": request_id,
            "limit": limit,
            "cursor": cursor,
        }
        params.update({f"metadata.{key}": value for key, value in (metadata or {}).items()})
        return Call("GET", "/v1/notifications", _page(Notification), params=params)

    list = endpoint(_list)
    iterate = paginated(_list)

    def _feed(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[FeedItem]]:
        """With a user token: that user's own notifications with their rendered content."""
        return Call("GET", "/v1/me/notifications", _page(FeedItem), params={"limit": limit, "cursor": cursor})

    feed = endpoint(_feed)
    iterate_feed = paginated(_feed)


def _instant(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class Broadcasts(Resource[ModeT]):
    """Sends to a topic, followed and cancelled (docs/api.md §12)."""

    @endpoint
    def get(self, broadcast_id: str) -> Call[Broadcast]:
        return Call("GET", f"/v1/broadcasts/{_segment(broadcast_id)}", model(Broadcast))

    @endpoint
    def cancel(self, broadcast_id: str) -> Call[Broadcast]:
        """Stop the fan-out and cancel what no worker has claimed (202)."""
        return Call("POST", f"/v1/broadcasts/{_segment(broadcast_id)}/cancel", model(Broadcast))

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[Broadcast]]:
        return Call("GET", "/v1/broadcasts", _page(Broadcast), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)


class Users(Resource[ModeT]):
    """Users, their preferences and devices (docs/api.md §2)."""

    @endpoint
    def create(
        self,
        name: str,
        email: str,
        password: str,
        *,
        locale: str | None = None,
        preferences: Mapping[str, Any] | None = None,
    ) -> Call[User]:
        payload = body(name=name, email=email, password=password, locale=locale, preferences=preferences)
        return Call("POST", "/v1/users", model(User), json=payload)

    @endpoint
    def get(self, user_id: str) -> Call[User]:
        return Call("GET", f"/v1/users/{_segment(user_id)}", model(User))

    @endpoint
    def update(self, /, user_id: str, **changes: Any) -> Call[User]:
        """Change ``name``, ``email``, ``password``, ``locale`` (a user token changing email or password also
        gives ``current_password``)."""
        return Call("PATCH", f"/v1/users/{_segment(user_id)}", model(User), json=body(**changes))

    @endpoint
    def delete(self, user_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/users/{_segment(user_id)}", no_content)

    @endpoint
    def set_preferences(self, user_id: str, *, email: bool, push: bool) -> Call[Preferences]:
        """Set the two channels (``PUT``); the rest of the preferences stays."""
        path = f"/v1/users/{_segment(user_id)}/preferences"
        return Call("PUT", path, model(Preferences), json={"email": email, "push": push})

    @endpoint
    def patch_preferences(self, user_id: str, patch: Mapping[str, Any]) -> Call[Preferences]:
        """A JSON merge patch over the whole preferences (``null`` restores a member's default)."""
        path = f"/v1/users/{_segment(user_id)}/preferences"
        headers = {"Content-Type": "application/merge-patch+json"}
        return Call("PATCH", path, model(Preferences), json=dict(patch), headers=headers)

    @endpoint
    def add_device(self, user_id: str, token: str, platform: str) -> Call[Device]:
        path = f"/v1/users/{_segment(user_id)}/devices"
        return Call("POST", path, model(Device), json={"token": token, "platform": platform})

    @endpoint
    def remove_device(self, user_id: str, token: str) -> Call[None]:
        return Call("DELETE", f"/v1/users/{_segment(user_id)}/devices/{_segment(token)}", no_content)

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[User]]:
        return Call("GET", "/v1/users", _page(User), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)


class Auth(Resource[ModeT]):
    """Logging a user in, and asking what a credential may do."""

    @endpoint
    def login(self, email: str, password: str, *, application_id: str | None = None) -> Call[Token]:
        payload = body(email=email, password=password, application_id=application_id)
        return Call("POST", "/v1/auth/login", model(Token), json=payload)

    @endpoint
    def whoami(self) -> Call[WhoAmI]:
        return Call("GET", "/v1/auth/whoami", model(WhoAmI))


class Templates(Resource[ModeT]):
    """Templates, versions, activation and previews (docs/api.md §3). ``locale`` defaults to ``en``."""

    @endpoint
    def create(self, /, slug: str, channel: str, body_text: str, **fields: Any) -> Call[Template]:
        """A new template: email needs ``subject``, push ``title``; also ``locale``, ``html_body``, ``data``,
        ``category``, ``from_name``, ``from_email``, ``reply_to``."""
        payload = body(slug=slug, channel=channel, body=body_text, **fields)
        return Call("POST", "/v1/templates", model(Template), json=payload)

    @endpoint
    def update(self, /, slug: str, channel: str, body_text: str, **fields: Any) -> Call[Template]:
        """A new version, active at once."""
        payload = body(channel=channel, body=body_text, **fields)
        return Call("PUT", f"/v1/templates/{_segment(slug)}", model(Template), json=payload)

    @endpoint
    def get(self, slug: str, channel: str, *, locale: str | None = None, version: int | None = None) -> Call[Template]:
        params = {"channel": channel, "locale": locale, "version": version}
        return Call("GET", f"/v1/templates/{_segment(slug)}", model(Template), params=params)

    @endpoint
    def versions(self, slug: str, channel: str, *, locale: str | None = None) -> Call[list[Template]]:
        return Call(
            "GET",
            f"/v1/templates/{_segment(slug)}/versions",
            lambda response: ItemList[Template].model_validate(response.json()).items,
            params={"channel": channel, "locale": locale},
        )

    @endpoint
    def activate(self, slug: str, version: int, channel: str, *, locale: str | None = None) -> Call[Template]:
        """Roll back (or forward) to ``version``."""
        path = f"/v1/templates/{_segment(slug)}/versions/{version}/activate"
        return Call("POST", path, model(Template), params={"channel": channel, "locale": locale})

    @endpoint
    def render(
        self,
        slug: str,
        channel: str,
        variables: Mapping[str, Any],
        *,
        locale: str | None = None,
        version: int | None = None,
        user: Mapping[str, Any] | None = None,
    ) -> Call[RenderedTemplate]:
        """A preview: the rendered parts, nothing sent."""
        payload = body(channel=channel, variables=variables, locale=locale, version=version, user=user)
        return Call("POST", f"/v1/templates/{_segment(slug)}/render", model(RenderedTemplate), json=payload)

    @endpoint
    def delete(self, slug: str, channel: str, *, locale: str | None = None) -> Call[None]:
        params = {"channel": channel, "locale": locale}
        return Call("DELETE", f"/v1/templates/{_segment(slug)}", no_content, params=params)

    def _list(
        self, *, channel: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Template]]:
        params = {"channel": channel, "limit": limit, "cursor": cursor}
        return Call("GET", "/v1/templates", _page(Template), params=params)

    list = endpoint(_list)
    iterate = paginated(_list)


class Categories(Resource[ModeT]):
    """Notification categories users opt out of (docs/api.md section 14)."""

    @endpoint
    def put(self, key: str, name: str, *, transactional: bool = False) -> Call[Category]:
        payload = {"name": name, "transactional": transactional}
        return Call("PUT", f"/v1/categories/{_segment(key)}", model(Category), json=payload)

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[Category]]:
        return Call("GET", "/v1/categories", _page(Category), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)


class SendingDomains(Resource[ModeT]):
    """Domains an application may send from (templates' ``from_email``), each with its DKIM key and the TXT
    record to publish (docs/api.md §13)."""

    @endpoint
    def put(self, /, domain: str, **fields: Any) -> Call[SendingDomain]:
        """Add ``domain`` (or rotate its key with another ``selector``, or use your ``private_key``)."""
        return Call("PUT", f"/v1/sending-domains/{_segment(domain)}", model(SendingDomain), json=body(**fields))

    @endpoint
    def get(self, domain: str) -> Call[SendingDomain]:
        return Call("GET", f"/v1/sending-domains/{_segment(domain)}", model(SendingDomain))

    @endpoint
    def remove(self, domain: str) -> Call[None]:
        return Call("DELETE", f"/v1/sending-domains/{_segment(domain)}", no_content)

    @endpoint
    def list(self) -> Call[list[SendingDomain]]:
        """Every sending domain of the application, by name (one list, not paged)."""
        return Call(
            "GET",
            "/v1/sending-domains",
            lambda response: ItemList[SendingDomain].model_validate(response.json()).items,
        )


class Topics(Resource[ModeT]):
    """Named audiences (docs/api.md §10)."""

    @endpoint
    def create(self, key: str, name: str) -> Call[Topic]:
        return Call("POST", "/v1/topics", model(Topic), json={"key": key, "name": name})

    @endpoint
    def get(self, key: str) -> Call[Topic]:
        return Call("GET", f"/v1/topics/{_segment(key)}", model(Topic))

    @endpoint
    def delete(self, key: str) -> Call[None]:
        return Call("DELETE", f"/v1/topics/{_segment(key)}", no_content)

    @endpoint
    def subscribe(self, key: str, user_ids: Sequence[str]) -> Call[Added]:
        """Subscribe up to 1,000 users (idempotent: ``added`` counts the new ones)."""
        path = f"/v1/topics/{_segment(key)}/subscribers"
        return Call("POST", path, model(Added), json={"user_ids": list(user_ids)})

    @endpoint
    def unsubscribe(self, key: str, user_ids: Sequence[str]) -> Call[Removed]:
        path = f"/v1/topics/{_segment(key)}/subscribers"
        return Call("DELETE", path, model(Removed), json={"user_ids": list(user_ids)})

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[Topic]]:
        return Call("GET", "/v1/topics", _page(Topic), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)

    def _subscribers(
        self, key: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Subscription]]:
        path = f"/v1/topics/{_segment(key)}/subscribers"
        return Call("GET", path, _page(Subscription), params={"limit": limit, "cursor": cursor})

    subscribers = endpoint(_subscribers)
    iterate_subscribers = paginated(_subscribers)


class Suppressions(Resource[ModeT]):
    """Addresses never emailed (docs/api.md §11)."""

    @endpoint
    def add(self, address: str, *, reason: str = "manual") -> Call[Suppression]:
        return Call("POST", "/v1/suppressions", model(Suppression), json={"address": address, "reason": reason})

    @endpoint
    def remove(self, address: str) -> Call[None]:
        return Call("DELETE", f"/v1/suppressions/{_segment(address)}", no_content)

    def _list(
        self,
        *,
        channel: str | None = None,
        reason: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[Suppression]]:
        params = {"channel": channel, "reason": reason, "limit": limit, "cursor": cursor}
        return Call("GET", "/v1/suppressions", _page(Suppression), params=params)

    list = endpoint(_list)
    iterate = paginated(_list)


class Webhooks(Resource[ModeT]):
    """Delivery-status callbacks and their deliveries (docs/api.md §9)."""

    @endpoint
    def create(self, url: str, events: Sequence[str], *, description: str | None = None) -> Call[WebhookCreated]:
        """Register an endpoint; the answer's ``secret`` is shown this once."""
        payload = body(url=url, events=list(events), description=description)
        return Call("POST", "/v1/webhooks", model(WebhookCreated), json=payload)

    @endpoint
    def get(self, webhook_id: str) -> Call[Webhook]:
        return Call("GET", f"/v1/webhooks/{_segment(webhook_id)}", model(Webhook))

    @endpoint
    def update(self, /, webhook_id: str, **changes: Any) -> Call[Webhook]:
        """Change ``url``, ``events``, ``description`` (``None`` is sent as null) or ``enabled``."""
        return Call("PATCH", f"/v1/webhooks/{_segment(webhook_id)}", model(Webhook), json=dict(changes))

    @endpoint
    def delete(self, webhook_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/webhooks/{_segment(webhook_id)}", no_content)

    @endpoint
    def rotate_secret(self, webhook_id: str) -> Call[SecretRotated]:
        """A new secret; the old one keeps signing for 24 h."""
        return Call("POST", f"/v1/webhooks/{_segment(webhook_id)}/rotate-secret", model(SecretRotated))

    @endpoint
    def test(self, webhook_id: str) -> Call[DeliverySummary]:
        """Queue a ``webhook.test`` delivery now (202)."""
        return Call("POST", f"/v1/webhooks/{_segment(webhook_id)}/test", model(DeliverySummary))

    @endpoint
    def delivery(self, webhook_id: str, delivery_id: str) -> Call[Delivery]:
        path = f"/v1/webhooks/{_segment(webhook_id)}/deliveries/{_segment(delivery_id)}"
        return Call("GET", path, model(Delivery))

    @endpoint
    def retry_delivery(self, webhook_id: str, delivery_id: str) -> Call[DeliverySummary]:
        path = f"/v1/webhooks/{_segment(webhook_id)}/deliveries/{_segment(delivery_id)}/retry"
        return Call("POST", path, model(DeliverySummary))

    @endpoint
    def replay(self, webhook_id: str, since: datetime | str) -> Call[Replayed]:
        """Send every event since ``since`` again (gap recovery)."""
        path = f"/v1/webhooks/{_segment(webhook_id)}/replay"
        return Call("POST", path, model(Replayed), json={"since": _instant(since)})

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[Webhook]]:
        return Call("GET", "/v1/webhooks", _page(Webhook), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)

    def _deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        after: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[DeliverySummary]]:
        path = f"/v1/webhooks/{_segment(webhook_id)}/deliveries"
        params = {"status": status, "after": _instant(after), "limit": limit, "cursor": cursor}
        return Call("GET", path, _page(DeliverySummary), params=params)

    deliveries = endpoint(_deliveries)
    iterate_deliveries = paginated(_deliveries)


class Applications(Resource[ModeT]):
    """Applications and their keys: the operator's key only (docs/api.md §8)."""

    @endpoint
    def create(self, name: str, *, rate_limit_per_minute: int | None = None) -> Call[Application]:
        payload = body(name=name, rate_limit_per_minute=rate_limit_per_minute)
        return Call("POST", "/v1/applications", model(Application), json=payload)

    @endpoint
    def get(self, application_id: str) -> Call[Application]:
        return Call("GET", f"/v1/applications/{_segment(application_id)}", model(Application))

    @endpoint
    def update(self, /, application_id: str, **changes: Any) -> Call[Application]:
        """Change ``name`` or ``rate_limit_per_minute`` (``None`` restores the deployment's limit)."""
        path = f"/v1/applications/{_segment(application_id)}"
        return Call("PATCH", path, model(Application), json=dict(changes))

    @endpoint
    def delete(self, application_id: str) -> Call[None]:
        """Disable it at once; its data is purged in the background."""
        return Call("DELETE", f"/v1/applications/{_segment(application_id)}", no_content)

    @endpoint
    def create_key(
        self, application_id: str, name: str, scopes: Sequence[str], *, mode: str | None = None
    ) -> Call[KeyCreated]:
        """A new key; the answer's ``key`` is shown this once."""
        payload = body(name=name, scopes=list(scopes), mode=mode)
        return Call("POST", f"/v1/applications/{_segment(application_id)}/keys", model(KeyCreated), json=payload)

    @endpoint
    def keys(self, application_id: str) -> Call[list[ApiKey]]:
        """The application's keys, without secrets (revoked ones marked)."""
        return Call(
            "GET",
            f"/v1/applications/{_segment(application_id)}/keys",
            lambda response: ItemList[ApiKey].model_validate(response.json()).items,
        )

    @endpoint
    def revoke_key(self, application_id: str, key_id: str) -> Call[None]:
        """Every gateway refuses the key within seconds."""
        path = f"/v1/applications/{_segment(application_id)}/keys/{_segment(key_id)}"
        return Call("DELETE", path, no_content)

    def _list(self, *, limit: int | None = None, cursor: str | None = None) -> Call[Page[Application]]:
        return Call("GET", "/v1/applications", _page(Application), params={"limit": limit, "cursor": cursor})

    list = endpoint(_list)
    iterate = paginated(_list)


class DeadLetters(Resource[ModeT]):
    """What the workers gave up on, listed, inspected, replayed or discarded (docs/api.md section 15)."""

    @endpoint
    def get(self, dead_letter_id: str) -> Call[DeadLetter]:
        """One dead letter, with its envelope decoded when it parses."""
        return Call("GET", f"/v1/dead-letters/{_segment(dead_letter_id)}", model(DeadLetter))

    @endpoint
    def replay(self, dead_letter_id: str) -> Call[Model]:
        """Put it back on its queue (202)."""
        return Call("POST", f"/v1/dead-letters/{_segment(dead_letter_id)}/replay", model(Model))

    @endpoint
    def replay_matching(
        self,
        *,
        channel: str | None = None,
        reason: str | None = None,
        failed_after: datetime | str | None = None,
        failed_before: datetime | str | None = None,
        limit: int | None = None,
    ) -> Call[Replayed]:
        """Replay every dead letter the filter matches (202 ``{"replayed"}``)."""
        payload = body(
            channel=channel,
            reason=reason,
            failed_after=_instant(failed_after),
            failed_before=_instant(failed_before),
            limit=limit,
        )
        return Call("POST", "/v1/dead-letters/replay", model(Replayed), json=payload)

    @endpoint
    def discard(self, dead_letter_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/dead-letters/{_segment(dead_letter_id)}", no_content)

    def _list(
        self,
        *,
        channel: str | None = None,
        reason: str | None = None,
        failed_after: datetime | str | None = None,
        failed_before: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[DeadLetter]]:
        params = {
            "channel": channel,
            "reason": reason,
            "failed_after": _instant(failed_after),
            "failed_before": _instant(failed_before),
            "limit": limit,
            "cursor": cursor,
        }
        return Call("GET", "/v1/dead-letters", _page(DeadLetter), params=params)

    list = endpoint(_list)
    iterate = paginated(_list)


class Operations(Resource[ModeT]):
    """Health, readiness and the operator's figures."""

    @endpoint
    def health(self) -> Call[dict[str, Any]]:
        return Call("GET", "/health", lambda response: dict(response.json()))

    @endpoint
    def stats(self, *, window: str | None = None) -> Call[dict[str, Any]]:
        """Per-minute counts, queue depths, breaker states and dead letters waiting (``GET /v1/stats``)."""
        return Call("GET", "/v1/stats", lambda response: dict(response.json()), params={"window": window})
