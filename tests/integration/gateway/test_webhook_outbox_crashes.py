"""Writers killed at random points, inside a statement or between their statements and their commit
(``pg_terminate_backend`` on their connections), leave every committed status change with its one outbox event
and no outbox event whose change did not commit (docs/design.md §7 "Events out")."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import orjson
import pytest

from common.dead_letter_replay import RESET_SQL
from common.notification_tables import Status
from delivery.status_store import Outcome, RowState, StatusStore
from devstack.infra import Infra
from gateway.store import NotificationStore
from tests.integration.gateway.webhook_outbox import drop_application, new_application, notification, subscribe

DURATION_SECONDS = 4.0
WRITER_NAME = "outbox-crash-writer"
"""The ``application_name`` of the writers' connections: the only ones the killer terminates."""

KILLED = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, ConnectionError, OSError)
"""What a writer sees when its connection is terminated: the server's error, a closed connection, or (for a
transaction's end while a batched statement of it was failing) asyncpg's protocol-state error."""

EVENTS_WITHOUT_ONE_OUTBOX_ROW = """
SELECT e.id, e.status, count(o.id) AS outbox_rows
FROM notification_events AS e
JOIN notification_statuses AS s ON s.id = e.notification_id AND s.application_id = $1
LEFT JOIN webhook_outbox AS o
       ON o.application_id = $1 AND o.notification_id = e.notification_id
      AND (o.data -> 'event' ->> 'sequence')::bigint = e.id
      AND o.event_type = 'notification.' || e.status AND o.data ->> 'status' = e.status
GROUP BY e.id, e.status
HAVING count(o.id) <> 1
"""

OUTBOX_ROWS_WITHOUT_THEIR_EVENT = """
SELECT o.id, o.event_type FROM webhook_outbox AS o
WHERE o.application_id = $1 AND NOT EXISTS (
    SELECT 1 FROM notification_events AS e
    WHERE e.id = (o.data -> 'event' ->> 'sequence')::bigint AND e.notification_id = o.notification_id
)
"""

LAST_OUTBOX_STATUS_DIFFERS = """
SELECT s.id, s.status, last.data ->> 'status' AS told
FROM notification_statuses AS s
JOIN LATERAL (
    SELECT o.data FROM webhook_outbox AS o WHERE o.notification_id = s.id
    ORDER BY (o.data -> 'event' ->> 'sequence')::bigint DESC LIMIT 1
) AS last ON true
WHERE s.application_id = $1 AND s.status <> last.data ->> 'status'
"""


class CrashRun:
    """Writers of every kind over one application's notifications, and a killer of their connections."""

    def __init__(self, url: str, application_id: uuid.UUID) -> None:
        self.url = url
        self.application_id = application_id
        self.created: list[uuid.UUID] = []
        self.counts: Counter[str] = Counter()
        self.deadline = 0.0

    def running(self) -> bool:
        return asyncio.get_running_loop().time() < self.deadline

    @staticmethod
    async def pause() -> None:
        """A random moment between a statement and the next (or the commit)."""
        await asyncio.sleep(random.random() * 0.004)

    async def _connect(self, *, jsonb_as_objects: bool) -> asyncpg.Connection:
        """A writer's connection; the gateway's pool passes JSONB as Python objects, the workers' as text."""
        connection = await asyncpg.connect(self.url, server_settings={"application_name": WRITER_NAME})
        if jsonb_as_objects:
            await connection.set_type_codec(
                "jsonb", schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads
            )
        return connection

    async def _repeat(
        self, one: Callable[[asyncpg.Connection], Awaitable[None]], *, jsonb_as_objects: bool = False
    ) -> None:
        """``one`` transaction after another on a connection of its own, reconnecting when it is killed."""
        connection: asyncpg.Connection | None = None
        while self.running():
            try:
                if connection is None or connection.is_closed():
                    connection = await self._connect(jsonb_as_objects=jsonb_as_objects)
                async with connection.transaction():
                    await one(connection)
                self.counts["committed"] += 1
            except KILLED as error:
                self.counts["killed"] += 1
                self.counts[type(error).__name__] += 1
                connection = None
        if connection is not None:
            await connection.close()

    async def _create(self, connection: asyncpg.Connection) -> None:
        """The send path's batched create: queued rows with their first events, in one statement."""
        rows = [notification(self.application_id) for _ in range(random.randint(1, 5))]
        store = NotificationStore(connection)
        await asyncio.gather(*(store.create(row) for row in rows))
        await self.pause()
        self.created.extend(row.id for row in rows)  # rolled back: its ids are unknown to the claims, as missing

    async def _work(self, connection: asyncpg.Connection) -> None:
        """A worker's claim and outcome over a few notifications, sometimes only the claim."""
        if not self.created:
            await asyncio.sleep(0.01)
            return
        ids = random.sample(self.created, min(len(self.created), random.randint(1, 4)))
        statuses = StatusStore(connection, lease_seconds=0.2)
        claims = await asyncio.gather(*(statuses.claim(str(key), random.randint(1, 3)) for key in ids))
        await self.pause()
        if random.random() < 0.2:
            return  # the worker dies after its claim: the lease lapses and another claims it
        outcomes = [
            Outcome(
                str(key),
                random.choice([Status.DELIVERED, Status.RETRYING, Status.FAILED]),
                1,
                retry_in_seconds=0,
                detail={"run": "crash"},
                lease=claim.lease,
            )
            for key, claim in zip(ids, claims, strict=True)
            if claim.state is RowState.DONE
        ]
        await asyncio.gather(*(statuses.write(outcome) for outcome in outcomes))
        await self.pause()

    async def _replay(self, connection: asyncpg.Connection) -> None:
        """The DLQ replay's reset of failed rows."""
        failed = await connection.fetch(
            "SELECT id FROM notification_statuses WHERE application_id = $1 AND status = 'failed' LIMIT 3",
            self.application_id,
        )
        for row in failed:
            await connection.fetchrow(RESET_SQL, row["id"], '{"replayed": true}')
            await self.pause()
        if not failed:
            await asyncio.sleep(0.01)

    async def gateway(self) -> None:
        await self._repeat(self._create, jsonb_as_objects=True)

    async def worker(self) -> None:
        await self._repeat(self._work)

    async def replay(self) -> None:
        await self._repeat(self._replay)

    async def killer(self) -> None:
        """Terminates one of the writers' connections every few milliseconds."""
        connection = await asyncpg.connect(self.url)
        try:
            while self.running():
                await asyncio.sleep(random.random() * 0.015)
                victims = await connection.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
                    WRITER_NAME,
                )
                if victims:
                    pid = random.choice(victims)["pid"]
                    if await connection.fetchval("SELECT pg_terminate_backend($1)", pid):
                        self.counts["terminated"] += 1
        finally:
            await connection.close()

    async def run(self, seconds: float) -> None:
        self.deadline = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(
            self.gateway(), self.gateway(), self.worker(), self.worker(), self.worker(), self.replay(), self.killer()
        )


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.database("NOTIFICATIONS_DATABASE_URL"))
    yield connection
    await connection.close()


async def test_killed_writers_leave_each_committed_change_with_its_event_and_no_other(
    infra: Infra, db: asyncpg.Connection
) -> None:
    application_id = await new_application(db)
    await subscribe(db, application_id, ["*"])
    run = CrashRun(infra.database("NOTIFICATIONS_DATABASE_URL"), application_id)
    try:
        await run.run(DURATION_SECONDS)
        await check_every_committed_change_has_its_event(db, application_id, run)
    finally:
        await drop_application(db, application_id)


async def check_every_committed_change_has_its_event(
    db: asyncpg.Connection, application_id: uuid.UUID, run: CrashRun
) -> None:

    assert run.counts["committed"] > 50, run.counts
    assert run.counts["killed"] > 10, run.counts
    events = await db.fetchval(
        "SELECT count(*) FROM notification_events AS e JOIN notification_statuses AS s ON s.id = e.notification_id"
        " WHERE s.application_id = $1",
        application_id,
    )
    kinds = await db.fetch(
        "SELECT event_type, count(*) FROM webhook_outbox WHERE application_id = $1 GROUP BY 1 ORDER BY 1",
        application_id,
    )
    print(f"crash run: {dict(run.counts)}; {events} committed events; outbox: {dict(map(tuple, kinds))}")
    assert {kind["event_type"] for kind in kinds} >= {
        "notification.queued",
        "notification.sending",
        "notification.delivered",
        "notification.retrying",
        "notification.failed",
    }
    assert await db.fetch(EVENTS_WITHOUT_ONE_OUTBOX_ROW, application_id) == []
    assert await db.fetch(OUTBOX_ROWS_WITHOUT_THEIR_EVENT, application_id) == []
    assert await db.fetch(LAST_OUTBOX_STATUS_DIFFERS, application_id) == []
