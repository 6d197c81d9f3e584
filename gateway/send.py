"""The send path of docs/design.md §1, after the gate: profile, render, skip checks, the ``queued`` row, the
confirmed publish. A refused publish leaves no row behind and answers 503; a publish whose confirm is late
answers 202, since the broker may already hold the message: its row stays, stamped by the late confirm or
published by the reconciler (a 503 there would invite a retry that delivers the notification twice).

Rendering happens here, in-process, with ``templating`` (the sandboxed renderer template_svc uses) on
template versions cached from template_svc: with the profile and the template cached, a send makes no gRPC
call at all (a render costs far less CPU than a RenderTemplate round trip)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika

from common.channels import Channel
from common.ids import new_notification_id
from common.notification_tables import Status
from gateway.convert import renderable_variables
from gateway.errors import ProblemError
from gateway.metrics import (
    LATE_CONFIRMS,
    NOTIFICATIONS_ACCEPTED,
    NOTIFICATIONS_SCHEDULED,
    NOTIFICATIONS_SKIPPED,
    PUBLISH_FAILURES,
)
from gateway.pages import PageRow
from gateway.profiles import ProfileCache
from gateway.publishing import ConfirmPending, EnvelopePublisher, PublishedStamper
from gateway.scheduling.timing import timing as due_timing
from gateway.schemas.notifications import SendRequest
from gateway.store import NewNotification, NotificationStore
from gateway.template_cache import TemplateCache
from notification.v1 import notification_pb2 as pb
from templating import (
    TemplateError,
    TemplateRenderer,
    render_context,
    rendered_response,
)

logger = logging.getLogger(__name__)

CATEGORY_OPT_OUT = "category_opt_out"
PRIORITIES = {"low": pb.PRIORITY_LOW, "normal": pb.PRIORITY_NORMAL, "high": pb.PRIORITY_HIGH}


@dataclass(frozen=True, slots=True)
class Fate:
    """What becomes of a notification now: its status, the skip reason, when a scheduled one is due, and the
    message a queued one publishes."""

    status: Status
    reason: str | None
    send_at: datetime | None = None
    message: aio_pika.Message | None = None


def render_input(request: SendRequest, *, test_mode: bool) -> dict[str, Any]:
    """What a scheduled row keeps to be rendered when due: what of the request its columns do not hold."""
    return {"variables": request.variables, "locale": request.locale, "test_mode": test_mode}


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of a send: ``queued`` (published), ``scheduled``, or ``skipped`` with a reason."""

    notification_id: uuid.UUID
    status: str
    reason: str | None


def skip_reason(channel: str, profile: pb.NotificationProfile, rendered: pb.RenderTemplateResponse) -> str | None:
    """Why the user cannot get this notification on ``channel`` (before suppressions), or None: the channel is
    off, the user opted out of the template's (non-transactional) category on it, or has no device."""
    preferences = profile.preferences
    if not getattr(preferences, channel):
        return "channel_disabled"
    if not rendered.transactional and rendered.category in preferences.categories:
        choice = preferences.categories[rendered.category]
        if choice.HasField(channel) and not getattr(choice, channel):
            return CATEGORY_OPT_OUT
    if channel == Channel.PUSH and not profile.device_tokens:
        return "no_device"
    return None


def build_envelope(
    request: SendRequest,
    application_id: uuid.UUID,
    profile: pb.NotificationProfile,
    rendered: pb.RenderTemplateResponse,
    notification_id: uuid.UUID,
    request_id: str | None,
    created_at: datetime,
    *,
    test_mode: bool = False,
) -> pb.MessageEnvelope:
    """The self-contained message a worker delivers, in the application it belongs to (the workers check and
    write suppressions there); a ``test_mode`` one (a test key's) it records as delivered without a provider."""
    channel = Channel(request.channel)
    envelope = pb.MessageEnvelope(
        application_id=str(application_id),
        notification_id=str(notification_id),
        correlation_id=request_id or "",
        channel=channel.proto,
        priority=PRIORITIES[request.priority],
        user_id=str(request.user_id),
        template=pb.TemplateRef(slug=request.template, version=rendered.version, locale=rendered.locale),
        metadata=request.metadata,
        test_mode=test_mode,
        category=rendered.category,
        transactional=rendered.transactional,
    )
    envelope.created_at.FromDatetime(created_at)
    if request.expires_at is not None:
        envelope.expires_at.FromDatetime(request.expires_at)
    if channel == Channel.EMAIL:
        envelope.email_recipient.address = profile.email
        envelope.email_recipient.name = profile.name
        envelope.email.CopyFrom(rendered.email)
    else:
        envelope.push_recipient.device_tokens.extend(profile.device_tokens)
        envelope.push.CopyFrom(rendered.push)
    return envelope


class NotificationSender:
    """Turns an admitted send request into a published envelope and a status row."""

    def __init__(
        self,
        profiles: ProfileCache,
        templates: TemplateCache,
        renderer: TemplateRenderer,
        store: NotificationStore,
        publisher: EnvelopePublisher,
        stamper: PublishedStamper,
    ) -> None:
        self._profiles = profiles
        self._templates = templates
        self._renderer = renderer
        self._store = store
        self._publisher = publisher
        self._stamper = stamper

    async def render(
        self, request: SendRequest, application_id: str, profile: pb.NotificationProfile
    ) -> pb.RenderTemplateResponse:
        """The application's template rendered for this request and recipient; 404 for an unknown template, 422
        for a missing variable or anything else the template cannot render."""
        locale = request.locale or profile.locale
        template = await self._templates.get(application_id, request.template, request.channel, locale)
        variables = renderable_variables(request.variables)
        user = {"name": profile.name, "email": profile.email, "locale": profile.locale}
        try:
            rendered = await self._renderer.render(template.parts, render_context(variables, user))
        except TemplateError as error:
            raise ProblemError.field(error.field, error.description) from None
        response = rendered_response(
            request.channel, template.locale, template.version, template.data_keys, rendered, template.sender
        )
        response.category = template.category
        response.transactional = template.transactional
        return response

    def fate(
        self,
        request: SendRequest,
        application_id: uuid.UUID,
        profile: pb.NotificationProfile,
        rendered: pb.RenderTemplateResponse,
        identity: tuple[uuid.UUID, datetime],
        request_id: str | None,
        *,
        test_mode: bool = False,
        at: datetime | None = None,
    ) -> Fate:
        """What becomes of the notification ``identity`` (its id and creation time) for ``profile``'s user ``at``
        that time (now when not given): ``skipped`` when the preferences, devices or quiet hours rule it out
        (before suppressions, which the writes check), ``scheduled`` while it is not due (docs/api.md
        "Scheduling"), else ``queued`` with its envelope to publish."""
        notification_id, created_at = identity
        timing = due_timing(request, profile.preferences, at or datetime.now(UTC))
        reason = skip_reason(request.channel, profile, rendered) or timing.reason
        if reason is not None:
            return Fate(Status.SKIPPED, reason)
        if timing.due is not None:
            return Fate(Status.SCHEDULED, None, send_at=timing.due)
        envelope = build_envelope(
            request, application_id, profile, rendered, notification_id, request_id, created_at, test_mode=test_mode
        )
        return Fate(Status.QUEUED, None, message=self._publisher.message(envelope))

    def row(
        self,
        request: SendRequest,
        application_id: uuid.UUID,
        profile: pb.NotificationProfile,
        rendered: pb.RenderTemplateResponse,
        request_id: str | None,
        *,
        test_mode: bool = False,
        batch_id: uuid.UUID | None = None,
        broadcast_id: uuid.UUID | None = None,
        notification_id: uuid.UUID | None = None,
    ) -> PageRow:
        """The new row of ``request`` to ``profile``'s user, as :meth:`fate` decides it; a ``scheduled`` one
        keeps what rendering it takes when it is due. Its id is ``notification_id`` when given (a fan-out's
        deterministic one), else a new one."""
        notification_id = notification_id or new_notification_id()
        created_at = datetime.now(UTC)
        fate = self.fate(
            request, application_id, profile, rendered, (notification_id, created_at), request_id, test_mode=test_mode
        )
        notification = NewNotification(
            id=notification_id,
            application_id=application_id,
            channel=request.channel,
            user_id=request.user_id,
            template_slug=request.template,
            template_version=rendered.version,
            template_locale=rendered.locale,
            priority=request.priority,
            status=fate.status,
            reason=fate.reason,
            request_id=request_id,
            metadata=request.metadata,
            envelope=fate.message.body if fate.message else None,
            expires_at=request.expires_at,
            created_at=created_at,
            email_address=profile.email if Channel(request.channel) == Channel.EMAIL else None,
            batch_id=batch_id,
            send_at=fate.send_at,
            render_input=render_input(request, test_mode=test_mode) if fate.send_at else None,
            broadcast_id=broadcast_id,
            transactional=rendered.transactional,
        )
        return PageRow(notification, fate.message)

    async def _forget(self, notification_id: uuid.UUID) -> None:
        try:
            await self._store.forget(notification_id)
        except Exception:
            logger.error(
                "could not delete the unpublished row %s; the reconciler will publish it",
                notification_id,
                exc_info=True,
            )

    async def send(
        self, request: SendRequest, application_id: uuid.UUID, request_id: str | None, *, test_mode: bool = False
    ) -> SendOutcome:
        """Render, record and publish one notification (a test key's in ``test_mode``); raises ``AioRpcError``
        or :class:`ProblemError`."""
        application = str(application_id)
        profile = await self._profiles.get(application, str(request.user_id))
        rendered = await self.render(request, application, profile)
        row = self.row(request, application_id, profile, rendered, request_id, test_mode=test_mode)
        notification_id, message = row.notification.id, row.message
        status, reason = await self._store.create(row.notification)
        if status == Status.SCHEDULED:
            NOTIFICATIONS_SCHEDULED.labels(request.channel).inc()
            return SendOutcome(notification_id, status, None)
        if status == Status.SKIPPED or message is None:
            NOTIFICATIONS_SKIPPED.labels(request.channel, reason or "unknown").inc()
            return SendOutcome(notification_id, Status.SKIPPED, reason)
        try:
            await self._publisher.publish(message, request.channel, lambda: self._stamper.confirmed(notification_id))
        except ConfirmPending:
            logger.warning(
                "no confirm for %s in time; accepted: the row stays for the late confirm or the reconciler",
                notification_id,
            )
            LATE_CONFIRMS.labels(request.channel).inc()
            NOTIFICATIONS_ACCEPTED.labels(request.channel).inc()
            return SendOutcome(notification_id, Status.QUEUED, None)
        except Exception as error:
            PUBLISH_FAILURES.labels(request.channel).inc()
            logger.warning("publish of %s failed: %s: %s", notification_id, type(error).__name__, error)
            await self._forget(notification_id)
            raise ProblemError(
                503, "the message broker did not accept the notification; nothing was sent, retry later"
            ) from None
        self._stamper.confirmed(notification_id)
        NOTIFICATIONS_ACCEPTED.labels(request.channel).inc()
        return SendOutcome(notification_id, Status.QUEUED, None)
