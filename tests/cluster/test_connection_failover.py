"""A client of the cluster keeps publishing, confirmed, while the node it is connected to stops: the connection
moves to the next node of ``RABBITMQ_URLS`` and every confirmed message is in the queue afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid

import aio_pika

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from devstack.rabbitmq_cluster import RabbitMQCluster

QUEUE = "cluster.failover.test"
BATCH = 10


async def test_publishing_goes_on_on_the_next_node_when_its_node_stops(cluster: RabbitMQCluster) -> None:
    first = cluster.nodes[0]
    connection = await connect(cluster.urls, name="failover-test")
    try:
        publisher = await Publisher.create(connection, "quorum")
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(publisher.topology.direct, routing_key=QUEUE)
        await queue.purge()
        assert connection.url.port == first.port

        async def publish(n: int) -> None:
            body = f"{n}".encode()
            message = aio_pika.Message(body, message_id=str(uuid.uuid4()))
            await publisher.publish(publisher.topology.direct, message, QUEUE, timeout=15)

        sent = 0
        slowest = 0.0

        async def batch() -> None:
            nonlocal sent, slowest
            started = time.monotonic()
            await asyncio.gather(*(publish(n) for n in range(sent, sent + BATCH)))
            sent += BATCH
            slowest = max(slowest, time.monotonic() - started)

        stopping = asyncio.create_task(asyncio.to_thread(first.stop_app))
        while not stopping.done():
            await batch()
        for _ in range(5):
            await batch()
        await stopping
        try:
            assert connection.url.port != first.port, "the connection did not move to another node"
            channel = await connection.channel()
            queue = await channel.declare_queue(QUEUE, passive=True)
            bodies = set()
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                bodies.add(int(message.body))
            assert bodies == set(range(sent)), sorted(set(range(sent)) - bodies)
            print(f"\n{sent} publishes confirmed across stop_app of their node; slowest batch {slowest:.2f}s")
        finally:
            await asyncio.to_thread(first.start_app)
    finally:
        await connection.close()
