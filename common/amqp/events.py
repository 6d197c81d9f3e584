"""Change events on ``notifications.events`` (fanout): user_svc and template_svc publish one after every
write, so any cache (the gateway's, user_svc's own) can drop what it holds for that user or template."""

from __future__ import annotations

import logging

from google.protobuf.message import Message as ProtoMessage

from common.amqp.publisher import Publisher, protobuf_message
from common.log import request_id_var

logger = logging.getLogger(__name__)


async def publish_change(publisher: Publisher, event: ProtoMessage) -> None:
    """Publish a ``UserChanged`` or ``TemplateChanged`` event, confirmed.

    An event is a cache hint, not data: when the broker is down the write has already happened, so the
    failure is logged and swallowed (caches also expire on their own TTL).
    """
    message = protobuf_message(event, correlation_id=request_id_var.get())
    try:
        await publisher.publish(publisher.topology.events, message, routing_key="", mandatory=False)
    except Exception:
        logger.warning("could not publish %s", event.DESCRIPTOR.name, exc_info=True)
