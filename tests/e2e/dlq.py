"""Looking into ``failed.queue`` (aio-pika on the stack's vhost) and running the replay command as an operator
would."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika

from common.amqp.topology import FAILED_QUEUE
from devstack.stack import ROOT


@dataclass(frozen=True)
class DeadMessage:
    """What a DLQ message carries."""

    message_id: str | None
    headers: dict[str, Any]
    body: bytes


async def dlq_messages(rabbitmq_url: str) -> list[DeadMessage]:
    """Every message in the DLQ now, left in place (taken unacknowledged, returned when the channel closes)."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(FAILED_QUEUE, passive=True)
        found = []
        for _ in range(queue.declaration_result.message_count or 0):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            found.append(DeadMessage(message.message_id, dict(message.headers), message.body))
        await channel.close()
        return found
    finally:
        await connection.close()


async def wait_for_dead_letter(rabbitmq_url: str, notification_id: str, timeout: float = 10.0) -> DeadMessage:
    """The DLQ message of ``notification_id``, once it is there."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in await dlq_messages(rabbitmq_url):
            if message.message_id == notification_id:
                return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no message for {notification_id} reached {FAILED_QUEUE} within {timeout}s")
        await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Completed:
    code: int
    output: str


async def run_replay(environment: Mapping[str, str], *arguments: str) -> Completed:
    """``python -m delivery.replay ARGUMENTS`` with the stack's environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "delivery.replay",
        *arguments,
        env=dict(environment),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return Completed(await process.wait(), output.decode())
