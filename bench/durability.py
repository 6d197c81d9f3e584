"""The durability a run measured with (issue 21): a figure counts only when none of it was weakened.

PostgreSQL ``synchronous_commit`` and ``fsync`` on; the work queues quorum and durable (as RabbitMQ lists them);
messages persistent and published with confirms (as the product's publisher builds them); the gateway's publish
timeout at its default; and no 202 answered through the late-confirm path (the gateway's
``gateway_publish_confirms_late_total``, read from its ``/metrics`` at the end of the run)."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import httpx
from prometheus_client.parser import text_string_to_metric_families

from common.amqp.publisher import open_confirming_channel, protobuf_message
from common.amqp.topology import work_queue
from common.channels import Channel
from devstack.stack import Stack
from gateway.settings import GatewaySettings
from notification.v1 import notification_pb2 as pb

LATE_CONFIRMS = "gateway_publish_confirms_late"


async def _queues(vhost: str) -> dict[str, dict[str, str]]:
    """The work queues' type and durability as ``rabbitmqctl list_queues`` reports them ({} when it cannot)."""
    try:
        process = await asyncio.create_subprocess_exec(
            "rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "durable", "--no-table-headers",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    except (OSError, TimeoutError):
        return {}
    wanted = {work_queue(channel) for channel in Channel}
    found = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in wanted:
            found[parts[0]] = {"type": parts[1], "durable": parts[2]}
    return found


async def _confirms(url: str) -> bool:
    """Whether the channel the product publishes on (``common.amqp.publisher``) has publisher confirms on."""
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await open_confirming_channel(connection)
        return bool(getattr(channel, "publisher_confirms", False))
    finally:
        await connection.close()


async def settings(db: Any, stack: Stack, vhost: str, rabbitmq_url: str) -> dict[str, Any]:
    """What the run measured with, read from the servers and the product's own code and defaults."""
    message = protobuf_message(pb.MessageEnvelope())
    default_timeout = GatewaySettings.model_fields["publish_timeout_seconds"].default
    timeout = float(stack.environment.get("GATEWAY_PUBLISH_TIMEOUT_SECONDS", default_timeout))
    return {
        "synchronous_commit": await db.fetchval("SHOW synchronous_commit"),
        "fsync": await db.fetchval("SHOW fsync"),
        "queues": await _queues(vhost),
        "persistent": message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT,
        "confirms": await _confirms(rabbitmq_url),
        "publish_timeout_seconds": timeout,
        "publish_timeout_default": timeout == default_timeout,
    }


async def metric_total(http: httpx.AsyncClient, url: str, name: str) -> float | None:
    """The sum of counter ``name`` (every label) on ``url``'s ``/metrics`` (None when it did not answer)."""
    try:
        response = await http.get(url + "/metrics", timeout=10)
    except httpx.HTTPError:
        return None
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name == name
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def late_confirms(http: httpx.AsyncClient, stack: Stack) -> float | None:
    """202s the gateway answered without a confirm in time, over the run (None when /metrics did not answer)."""
    return await metric_total(http, stack.url("gateway"), LATE_CONFIRMS)


def intact(found: dict[str, Any]) -> bool:
    """True when nothing was weakened: the figures of the run count."""
    queues = found.get("queues", {})
    return (
        found.get("synchronous_commit") == "on"
        and found.get("fsync") == "on"
        and len(queues) == len(Channel)
        and all(queue["type"] == "quorum" and queue["durable"] == "true" for queue in queues.values())
        and bool(found.get("persistent"))
        and bool(found.get("confirms"))
        and bool(found.get("publish_timeout_default"))
        and found.get("late_confirms") == 0
    )
