"""The gateway's caches listen to ``notifications.events`` (docs/design.md §3, §7) through one private queue: a
``UserChanged`` evicts that user's profile, a ``TemplateChanged`` every cached locale of that template, both in
the event's application (an event without one is the default application's, as user_svc and template_svc
read an empty ``application_id``); a ``KeyRevoked`` evicts that key and an ``ApplicationChanged`` that
application. After a reconnection every cache is dropped whole, since events may have been missed meanwhile."""

from __future__ import annotations

import logging
import uuid

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from common.amqp.topology import EVENTS_EXCHANGE
from common.applications import DEFAULT_APPLICATION_ID
from common.channels import Channel
from gateway.profiles import ProfileCache
from gateway.template_cache import TemplateCache
from gateway.tenancy.key_cache import CredentialCache
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

USER_CHANGED = pb.UserChanged.DESCRIPTOR.full_name
TEMPLATE_CHANGED = pb.TemplateChanged.DESCRIPTOR.full_name
KEY_REVOKED = pb.KeyRevoked.DESCRIPTOR.full_name
APPLICATION_CHANGED = pb.ApplicationChanged.DESCRIPTOR.full_name


def event_application(application_id: str) -> str:
    """The application an event belongs to: its ``application_id``, or the default application when empty."""
    return application_id or str(DEFAULT_APPLICATION_ID)


async def subscribe_to_changes(
    connection: AbstractRobustConnection,
    profiles: ProfileCache | None,
    templates: TemplateCache | None,
    credentials: CredentialCache,
) -> AbstractChannel:
    """Consume change events for the caches given, through an exclusive queue bound to ``notifications.events``."""
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="")

    async def on_event(message: AbstractIncomingMessage) -> None:
        if message.type == USER_CHANGED and profiles is not None:
            try:
                changed = pb.UserChanged.FromString(message.body)
                profiles.evict(event_application(changed.application_id), changed.user_id)
            except Exception:
                logger.warning("unreadable UserChanged event; dropping every cached profile", exc_info=True)
                profiles.clear()
        elif message.type == TEMPLATE_CHANGED and templates is not None:
            try:
                event = pb.TemplateChanged.FromString(message.body)
                templates.evict(event_application(event.application_id), event.slug, Channel.from_proto(event.channel))
            except Exception:
                logger.warning("unreadable TemplateChanged event; dropping every cached template", exc_info=True)
                templates.clear()
        elif message.type in (KEY_REVOKED, APPLICATION_CHANGED):
            _forget_credentials(credentials, message)

    await queue.consume(on_event, no_ack=True)
    for cache in (profiles, templates, credentials):
        if cache is not None:
            connection.reconnect_callbacks.add(cache.clear)
    return channel


def _forget_credentials(credentials: CredentialCache, message: AbstractIncomingMessage) -> None:
    """Drop the key or application an event names; everything, when the event cannot be read."""
    try:
        if message.type == KEY_REVOKED:
            credentials.forget_key(pb.KeyRevoked.FromString(message.body).key_id)
        else:
            credentials.forget_application(uuid.UUID(pb.ApplicationChanged.FromString(message.body).application_id))
    except Exception:
        logger.warning("unreadable %s event; dropping every cached key and application", message.type, exc_info=True)
        credentials.clear()
