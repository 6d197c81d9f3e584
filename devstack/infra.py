"""Helpers for tests that use the real infrastructure."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from alembic.util.exc import CommandError

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from common.amqp.topology import queue_specs
from common.db import recreate_database
from common.migrations import migrate

MIGRATIONS = {
    "USER_SVC_DATABASE_URL": "user_svc:migrations",
    "TEMPLATE_SVC_DATABASE_URL": "template_svc:migrations",
    "NOTIFICATIONS_DATABASE_URL": "gateway:migrations",
}


def all_queues() -> list[str]:
    """Every queue of the topology."""
    return [spec.name for spec in queue_specs()]


@dataclass
class AmqpSession:
    """A test's view of RabbitMQ: a connection, a plain channel and a confirming publisher."""

    connection: AbstractRobustConnection
    channel: AbstractChannel
    publisher: Publisher

    async def get(self, queue: str, timeout: float = 5.0) -> aio_pika.abc.AbstractIncomingMessage:
        """The next message of ``queue``, waiting up to ``timeout`` seconds; fails the test when none comes."""
        declared = await self.channel.get_queue(queue, ensure=False)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await declared.get(no_ack=False, fail=False)
            if message is not None:
                return message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no message arrived in {queue} within {timeout}s")
            await asyncio.sleep(0.05)

    async def depth(self, queue: str) -> int:
        """How many ready messages ``queue`` holds now: asked on a channel of its own, as a robust channel answers a
        passive declare of a queue it declared before from its cache (the count of the first time)."""
        async with self.connection.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return declared.declaration_result.message_count or 0


def migrate_test_database(history: str, url: str) -> None:
    """Migrate a test database to head; one stamped with a revision this checkout does not know (left by a
    run of another branch) is dropped and made again, since a test database holds nothing to keep."""
    try:
        migrate(history, url)
    except CommandError as error:
        if "Can't locate revision" not in str(error):
            raise
        asyncio.run(recreate_database(url))
        migrate(history, url)


@dataclass
class Infra:
    """URLs of the test infrastructure; databases are migrated on first use."""

    database_urls: dict[str, str]
    redis_url: str
    rabbitmq_url: str
    _migrated: set[str] = field(default_factory=set)

    @classmethod
    def from_environment(cls) -> Infra:
        return cls(
            database_urls={name: os.environ[name] for name in MIGRATIONS},
            redis_url=os.environ["REDIS_URL"],
            rabbitmq_url=os.environ["RABBITMQ_URL"],
        )

    def database(self, variable: str) -> str:
        """The URL of the database in ``variable``, created and migrated to head."""
        url = self.database_urls[variable]
        if variable not in self._migrated:
            # Alembic runs its own event loop: give it a thread, so async fixtures can call this too.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(migrate_test_database, MIGRATIONS[variable], url).result()
            self._migrated.add(variable)
        return url

    @asynccontextmanager
    async def amqp_session(self, queue_type: str = "quorum") -> AsyncIterator[AmqpSession]:
        """A connection with the topology declared and every queue purged, closed afterwards."""
        connection = await connect(self.rabbitmq_url, name="tests")
        try:
            publisher = await Publisher.create(connection, queue_type)  # type: ignore[arg-type]
            channel = await connection.channel()
            for queue in all_queues():
                await (await channel.get_queue(queue, ensure=False)).purge()
            yield AmqpSession(connection=connection, channel=channel, publisher=publisher)
        finally:
            await connection.close()
