"""Every writer of a notification's status writes its ``notification.<status>`` event to the webhook outbox in
the same statement, once per change, only where an enabled endpoint of the application subscribes to that type,
and with the notification exactly as ``GET /v1/notifications/{id}`` answers it then (docs/design.md §7)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from common.dead_letter_replay import RESET_SQL, UNDO_SQL
from common.notification_tables import Status
from delivery.status_store import Outcome, RowState, StatusStore
from devstack.infra import Infra
from gateway.store import NotificationStore
from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway
from tests.integration.gateway.webhook_outbox import (
    drop_application,
    event_types,
    new_application,
    notification,
    outbox,
    subscribe,
)


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.database("NOTIFICATIONS_DATABASE_URL"))
    yield connection
    await connection.close()


@pytest.fixture
async def statuses(infra: Infra) -> AsyncIterator[StatusStore]:
    """The workers' store, as a worker opens it."""
    opened = await StatusStore.open(infra.database("NOTIFICATIONS_DATABASE_URL"), lease_seconds=60)
    yield opened
    await opened.close()


@pytest.fixture
async def application(db: asyncpg.Connection) -> AsyncIterator[uuid.UUID]:
    application_id = await new_application(db)
    yield application_id
    await drop_application(db, application_id)


class Observer:
    """Checks that each change wrote exactly one new outbox row, of its type, holding what the API answers."""

    def __init__(self, gateway: Gateway, db: asyncpg.Connection, application_id: uuid.UUID) -> None:
        self.gateway = gateway
        self.db = db
        self.application_id = application_id
        self.seen: dict[uuid.UUID, int] = {}

    async def api_view(self, notification_id: uuid.UUID) -> dict[str, Any]:
        headers = {"X-API-Key": ADMIN_API_KEY, "X-Application-Id": str(self.application_id)}
        response = await self.gateway.client.get(f"/v1/notifications/{notification_id}", headers=headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def last_event(self, notification_id: uuid.UUID) -> dict[str, Any]:
        row = await self.db.fetchrow(
            "SELECT id, status, attempt, detail FROM notification_events WHERE notification_id = $1"
            " ORDER BY id DESC LIMIT 1",
            notification_id,
        )
        assert row is not None
        return {
            "status": row["status"],
            "attempt": row["attempt"],
            "detail": json.loads(row["detail"]),
            "sequence": row["id"],
        }

    async def changed(self, notification_id: uuid.UUID, status: str) -> dict[str, Any]:
        """The one new outbox row the change to ``status`` wrote, checked field by field; its ``data``."""
        rows = await outbox(self.db, notification_id)
        before = self.seen.get(notification_id, 0)
        assert len(rows) == before + 1, [row["event_type"] for row in rows]
        self.seen[notification_id] = len(rows)
        newest = rows[-1]
        assert newest["event_type"] == f"notification.{status}"
        assert newest["application_id"] == self.application_id
        data = dict(newest["data"])
        event = data.pop("event")
        view = await self.api_view(notification_id)
        assert view["status"] == status
        assert data == view  # every field, timestamps as the API renders them
        assert event == await self.last_event(notification_id)
        return dict(newest["data"])


@pytest.fixture
def observer(gateway: Gateway, db: asyncpg.Connection, application: uuid.UUID) -> Observer:
    return Observer(gateway, db, application)


async def test_every_writer_writes_one_event_per_change_as_the_api_shows_it(
    gateway: Gateway, db: asyncpg.Connection, statuses: StatusStore, application: uuid.UUID, observer: Observer
) -> None:
    await subscribe(db, application, ["*"])
    store: NotificationStore = gateway.resources.store
    expires = datetime.now(UTC).replace(microsecond=120000) + timedelta(hours=1)
    row = notification(application, created_at=datetime.now(UTC).replace(microsecond=0), expires_at=expires)
    key = str(row.id)

    assert await store.create(row) == ("queued", None)
    queued = await observer.changed(row.id, "queued")
    assert "." not in queued["created_at"]  # the API shows no fraction at 0 µs, nor does the snapshot
    assert queued["expires_at"].endswith(".120000Z")
    assert queued["event"]["sequence"] > 0

    claim = await statuses.claim(key, 1)
    sending = await observer.changed(row.id, "sending")
    retry = Outcome(
        key, Status.RETRYING, 1, last_error="451 later", retry_in_seconds=30, detail={"smtp": "451"}, lease=claim.lease
    )
    assert await statuses.write(retry) is RowState.DONE
    retrying = await observer.changed(row.id, "retrying")
    assert sending["event"]["sequence"] < retrying["event"]["sequence"]

    claim = await statuses.claim(key, 2)
    await observer.changed(row.id, "sending")
    failed = Outcome(key, Status.FAILED, 2, reason="retries_exhausted", last_error="550 no", lease=claim.lease)
    assert await statuses.write(failed) is RowState.DONE
    await observer.changed(row.id, "failed")

    reset = await db.fetchrow(RESET_SQL, row.id, json.dumps({"replayed": True}))
    assert reset is not None
    assert reset["reset"]
    await observer.changed(row.id, "queued")
    await db.execute(UNDO_SQL, row.id, "retries_exhausted", 2, json.dumps({"replay_failed": "broker down"}))
    await observer.changed(row.id, "failed")
    await db.fetchrow(RESET_SQL, row.id, json.dumps({"replayed": True}))
    await observer.changed(row.id, "queued")

    claim = await statuses.claim(key, 1)
    await observer.changed(row.id, "sending")
    delivered = Outcome(
        key, Status.DELIVERED, 1, provider_message_id="m-1", detail={"smtp": "250 ok"}, lease=claim.lease
    )
    assert await statuses.write(delivered) is RowState.DONE
    final = await observer.changed(row.id, "delivered")
    assert final["delivered_at"] is not None
    assert final["event"]["detail"] == {"smtp": "250 ok"}


async def test_skips_claims_of_suppressed_addresses_and_cancels_write_their_events(
    gateway: Gateway, db: asyncpg.Connection, statuses: StatusStore, application: uuid.UUID, observer: Observer
) -> None:
    await subscribe(db, application, ["*"])
    store: NotificationStore = gateway.resources.store
    suppressed = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    await db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason) VALUES ($1, $2, 'hard_bounce')",
        application,
        suppressed,
    )

    at_create = notification(application, email_address=suppressed)
    assert await store.create(at_create) == ("skipped", "suppressed")
    assert (await observer.changed(at_create.id, "skipped"))["reason"] == "suppressed"

    opted_out = notification(application, status="skipped", reason="channel_disabled")
    await store.create(opted_out)
    await observer.changed(opted_out.id, "skipped")

    at_claim = notification(application)
    await store.create(at_claim)
    await observer.changed(at_claim.id, "queued")
    assert (await statuses.claim(str(at_claim.id), 1, suppressed)).state is RowState.SUPPRESSED
    assert (await observer.changed(at_claim.id, "skipped"))["event"]["detail"] == {"reason": "suppressed"}

    user_id = uuid.uuid4()
    pending = notification(application, user_id=user_id, metadata={"order": "1234"})
    await store.create(pending)
    await observer.changed(pending.id, "queued")
    await store.erase_user(application, user_id)
    cancelled = await observer.changed(pending.id, "cancelled")
    assert cancelled["reason"] == "user_deleted"
    assert cancelled["metadata"] == {}  # erased before the cancel: the snapshot keeps no personal data


@pytest.mark.parametrize(
    ("endpoints", "expected"),
    [
        ([], []),
        ([(["*"], False)], []),
        ([(["notification.failed", "webhook.test"], True)], []),
        ([(["notification.delivered"], True)], ["notification.delivered"]),
        ([(["notification.delivered"], True), (["*"], False)], ["notification.delivered"]),
        (
            [(["notification.queued"], True), (["notification.delivered"], True)],
            ["notification.queued", "notification.delivered"],
        ),
    ],
    ids=["none", "disabled", "other-types", "one-type", "disabled-catch-all", "two-endpoints-one-row-each"],
)
async def test_only_events_an_enabled_endpoint_subscribes_to_are_written(
    gateway: Gateway,
    db: asyncpg.Connection,
    statuses: StatusStore,
    application: uuid.UUID,
    endpoints: list[tuple[list[str], bool]],
    expected: list[str],
) -> None:
    for events, enabled in endpoints:
        await subscribe(db, application, events, enabled=enabled)
    other = await new_application(db)
    await subscribe(db, other, ["*"])  # another application's endpoint hears nothing of this one
    row = notification(application)
    await gateway.resources.store.create(row)
    claim = await statuses.claim(str(row.id), 1)
    await statuses.write(Outcome(str(row.id), Status.DELIVERED, 1, lease=claim.lease))
    assert await event_types(db, row.id) == expected
    assert await db.fetchval("SELECT count(*) FROM webhook_outbox WHERE application_id = $1", other) == 0
    await drop_application(db, other)


async def test_a_change_that_rolls_back_writes_no_event(
    gateway: Gateway, db: asyncpg.Connection, application: uuid.UUID
) -> None:
    await subscribe(db, application, ["*"])
    store: NotificationStore = gateway.resources.store
    row = notification(application)
    await store.create(row)
    assert await event_types(db, row.id) == ["notification.queued"]

    transaction = db.transaction()
    await transaction.start()
    assert (await StatusStore(db, lease_seconds=60).claim(str(row.id), 1)).state is RowState.DONE
    assert await event_types(db, row.id) == ["notification.queued", "notification.sending"]
    await transaction.rollback()  # the writer gives up before its commit
    assert await event_types(db, row.id) == ["notification.queued"]
    assert await db.fetchval("SELECT status FROM notification_statuses WHERE id = $1", row.id) == "queued"

    fresh = notification(application)
    async with store.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await NotificationStore(connection).create(fresh)
        assert await event_types(connection, fresh.id) == ["notification.queued"]
        await transaction.rollback()
    assert await event_types(db, fresh.id) == []


async def test_a_forgotten_send_takes_its_queued_event_back(
    gateway: Gateway, db: asyncpg.Connection, application: uuid.UUID
) -> None:
    await subscribe(db, application, ["*"])
    store: NotificationStore = gateway.resources.store
    row = notification(application)
    await store.create(row)
    assert await event_types(db, row.id) == ["notification.queued"]
    await store.forget(row.id)  # its publish failed: the send was answered 503
    assert await db.fetchval("SELECT count(*) FROM notification_statuses WHERE id = $1", row.id) == 0
    assert await event_types(db, row.id) == []
