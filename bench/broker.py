"""The confirmed-publish baseline: aio-pika and the broker with nothing else around."""

from __future__ import annotations

import asyncio
import time

import aio_pika

from bench.environment import RABBITMQ_URL
from common.amqp.connection import connect

BASELINE_QUEUE = "bench.publish-baseline"


async def publish_baseline(seconds: float, in_flight: int = 100, queue_type: str = "quorum") -> dict[str, float]:
    """Confirmed persistent publishes of a 600-byte body into a queue of the work queues' type, ``in_flight`` at
    a time on one channel, for ``seconds``: what aio-pika and the broker do with nothing else around."""
    connection = await connect(RABBITMQ_URL, name="bench-baseline")
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        queue = await channel.declare_queue(BASELINE_QUEUE, durable=True, arguments={"x-queue-type": queue_type})
        body = b"x" * 600
        done = 0
        deadline = time.monotonic() + seconds

        async def publisher() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
                await channel.default_exchange.publish(message, routing_key=BASELINE_QUEUE, mandatory=True)
                done += 1

        started = time.monotonic()
        cpu_started = time.process_time()
        await asyncio.gather(*(publisher() for _ in range(in_flight)))
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_started
        await queue.delete(if_unused=False, if_empty=False)
        return {
            "published": done,
            "seconds": elapsed,
            "per_second": done / elapsed,
            "client_cpu_us_per_publish": cpu / max(done, 1) * 1e6,
        }
    finally:
        await connection.close()
