"""The gateway's caches listen to ``notifications.events`` (docs/design.md §3) through one private queue: a
``UserChanged`` evicts that user's profile, a ``TemplateChanged`` every cached locale of that template. After
a reconnection both caches are dropped whole, since events may have been missed meanwhile."""

from __future__ import annotations

import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from common.amqp.topology import EVENTS_EXCHANGE
from common.channels import Channel
from gateway.profiles import ProfileCache
from gateway.template_cache import TemplateCache
from notification.v1 import notification_pb2 as pb

logger = logging.getLogger(__name__)

USER_CHANGED = pb.UserChanged.DESCRIPTOR.full_name
TEMPLATE_CHANGED = pb.TemplateChanged.DESCRIPTOR.full_name


async def subscribe_to_changes(
    connection: AbstractRobustConnection, profiles: ProfileCache | None, templates: TemplateCache | None
) -> AbstractChannel:
    """Consume change events for the caches given, through an exclusive queue bound to ``notifications.events``."""
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="")

    async def on_event(message: AbstractIncomingMessage) -> None:
        if message.type == USER_CHANGED and profiles is not None:
            try:
                profiles.evict(pb.UserChanged.FromString(message.body).user_id)
            except Exception:
                logger.warning("unreadable UserChanged event; dropping every cached profile", exc_info=True)
                profiles.clear()
        elif message.type == TEMPLATE_CHANGED and templates is not None:
            try:
                event = pb.TemplateChanged.FromString(message.body)
                templates.evict(event.slug, Channel.from_proto(event.channel))
            except Exception:
                logger.warning("unreadable TemplateChanged event; dropping every cached template", exc_info=True)
                templates.clear()

    await queue.consume(on_event, no_ack=True)
    for cache in (profiles, templates):
        if cache is not None:
            connection.reconnect_callbacks.add(cache.clear)
    return channel
