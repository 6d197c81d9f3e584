"""The worker side of the status table on real Postgres: claims, outcomes, events, suppressions, batching."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from common.notification_tables import Status
from delivery.status_store import Outcome, RowState, StatusStore
from devstack.infra import Infra
from tests.integration.delivery.support import Gateway, email_envelope


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[StatusStore]:
    opened = await StatusStore.open(infra.database("NOTIFICATIONS_DATABASE_URL"), lease_seconds=60)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_claim_marks_sending_with_its_event(store: StatusStore, gateway: Gateway) -> None:
    envelope = email_envelope()
    await gateway.insert_row(envelope)
    assert (await store.claim(envelope.notification_id, 1)).state is RowState.DONE
    row = await gateway.row(envelope.notification_id)
    assert (row["status"], row["attempts"]) == ("sending", 1)
    assert await gateway.events(envelope.notification_id) == [("sending", 1, {})]


async def test_a_claim_sets_published_at_when_the_gateway_has_not_stamped_it_yet(
    store: StatusStore, gateway: Gateway
) -> None:
    unstamped, stamped = email_envelope(), email_envelope()
    for envelope in (unstamped, stamped):
        await gateway.insert_row(envelope)
    await gateway.db.execute(
        "UPDATE notification_statuses SET published_at = NULL WHERE id = $1", uuid.UUID(unstamped.notification_id)
    )
    before = (await gateway.row(stamped.notification_id))["published_at"]
    for envelope in (unstamped, stamped):
        assert (await store.claim(envelope.notification_id, 1)).state is RowState.DONE
    assert (await gateway.row(unstamped.notification_id))["published_at"] is not None  # the worker holds it
    assert (await gateway.row(stamped.notification_id))["published_at"] == before  # the stamp is kept


async def test_a_claim_reports_missing_and_delivered_rows_without_touching_them(
    store: StatusStore, gateway: Gateway
) -> None:
    assert (await store.claim(email_envelope().notification_id, 1)).state is RowState.MISSING
    envelope = email_envelope()
    await gateway.insert_row(envelope)
    claim = await store.claim(envelope.notification_id, 1)
    await store.write(Outcome(envelope.notification_id, Status.DELIVERED, attempts=1, lease=claim.lease))
    assert (await store.claim(envelope.notification_id, 2)).state is RowState.DELIVERED
    assert (await gateway.row(envelope.notification_id))["attempts"] == 1


async def test_outcomes_set_their_columns_and_never_overwrite_a_delivery(store: StatusStore, gateway: Gateway) -> None:
    envelope = email_envelope()
    await gateway.insert_row(envelope)
    claim = await store.claim(envelope.notification_id, 1)
    retrying = Outcome(
        envelope.notification_id, Status.RETRYING, 1, last_error="451 later", retry_in_seconds=30, lease=claim.lease
    )
    assert await store.write(retrying) is RowState.DONE
    row = await gateway.row(envelope.notification_id)
    assert row["status"] == "retrying"
    assert row["last_error"] == "451 later"
    assert 25 < (row["next_attempt_at"] - row["updated_at"]).total_seconds() <= 30

    claim = await store.claim(envelope.notification_id, 2)
    delivered = Outcome(
        envelope.notification_id,
        Status.DELIVERED,
        2,
        provider_message_id="<id@x>",
        detail={"smtp_code": 250},
        lease=claim.lease,
    )
    assert await store.write(delivered) is RowState.DONE
    row = await gateway.row(envelope.notification_id)
    assert (row["status"], row["provider_message_id"], row["next_attempt_at"]) == ("delivered", "<id@x>", None)
    assert row["delivered_at"] is not None

    late = Outcome(envelope.notification_id, Status.FAILED, 3, reason="smtp_550")
    assert await store.write(late) is RowState.DELIVERED
    assert (await gateway.row(envelope.notification_id))["status"] == "delivered"
    events = await gateway.events(envelope.notification_id)
    assert [status for status, _, _ in events] == ["sending", "retrying", "sending", "delivered"]
    assert events[3][2] == {"smtp_code": 250}


async def test_a_hard_bounce_is_suppressed_once(store: StatusStore, gateway: Gateway) -> None:
    address = f"Gone-{email_envelope().notification_id[-8:]}@Example.com"
    first, second = email_envelope(address), email_envelope(address)
    for envelope in (first, second):
        await gateway.insert_row(envelope)
        failed = Outcome(envelope.notification_id, Status.FAILED, 1, reason="smtp_550", suppress_address=address)
        assert await store.write(failed) is RowState.DONE
    rows = await gateway.db.fetch(
        "SELECT address, reason, notification_id::text AS id FROM email_suppressions WHERE address = $1",
        address.lower(),
    )
    assert [(r["address"], r["reason"], r["id"]) for r in rows] == [
        (address.lower(), "hard_bounce", first.notification_id)
    ]


async def test_concurrent_calls_share_round_trips_and_each_gets_its_own_answer(
    store: StatusStore, gateway: Gateway
) -> None:
    envelopes = [email_envelope() for _ in range(60)]
    for envelope in envelopes[:50]:
        await gateway.insert_row(envelope)
    claims = await asyncio.gather(*(store.claim(e.notification_id, 1) for e in envelopes))
    assert [claim.state for claim in claims] == [RowState.DONE] * 50 + [RowState.MISSING] * 10
    outcomes = [
        Outcome(e.notification_id, Status.DELIVERED, 1, detail={"n": n}, lease=claims[n].lease)
        for n, e in enumerate(envelopes)
    ]
    states = await asyncio.gather(*(store.write(outcome) for outcome in outcomes))
    assert states == [RowState.DONE] * 50 + [RowState.MISSING] * 10
    assert (await gateway.events(envelopes[7].notification_id))[-1] == ("delivered", 1, {"n": 7})
