"""Property: a client's cancel and a worker's claim of the same row never both win. Thousands of seeded random
interleavings of cancels (``gateway.store``), claims and sends (``delivery.status_store``), on separate
connections over many rows at once; every row ends either ``cancelled`` with no ``sending`` event, or claimed
with no ``cancelled`` event, and each answer (the cancel's, the claim's) agrees with how the row ended."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from common.notification_tables import Status
from delivery.status_store import Claim, Outcome, RowState, StatusStore
from devstack.infra import Infra
from gateway.store import NotificationStore
from tests.integration.delivery.support import Gateway, email_envelope

SEED = 17
ROUNDS = 25
ROWS = 80
"""25 rounds of 80 rows: 2,000 races of a claim and one or two cancels."""
CLAIM_DELAY_SECONDS = 0.03
CANCEL_DELAY_SECONDS = 0.004
"""Each contender starts after a random delay up to these: a cancel takes more round trips than a batched claim,
so the claims start later for both to win about as often."""


@dataclass
class Race:
    """One row's contenders and what each was told."""

    notification_id: uuid.UUID
    claim: Claim | None = None
    cancels: list[dict[str, Any]] = field(default_factory=list)


async def _after(delay: float) -> None:
    await asyncio.sleep(delay)


async def _claim_then_maybe_send(worker: StatusStore, race: Race, delay: float, sends: bool) -> None:
    await _after(delay)
    race.claim = await worker.claim(str(race.notification_id), 1)
    if sends and race.claim.state is RowState.DONE:
        await worker.write(Outcome(str(race.notification_id), Status.DELIVERED, 1, lease=race.claim.lease))


async def _cancel(store: NotificationStore, application_id: uuid.UUID, race: Race, delay: float) -> None:
    await _after(delay)
    answer = await store.cancel(application_id, race.notification_id)
    assert answer is not None
    race.cancels.append(answer)


async def _new_rows(gateway: Gateway, draw: random.Random) -> list[Race]:
    races = []
    for _ in range(ROWS):
        envelope = email_envelope()
        await gateway.insert_row(envelope)
        races.append(Race(uuid.UUID(envelope.notification_id)))
    retrying = [race.notification_id for race in races if draw.random() < 0.5]
    await gateway.db.execute(
        "UPDATE notification_statuses SET status = 'retrying', attempts = 1 WHERE id = ANY($1::uuid[])", retrying
    )
    return races


def _contenders(
    races: list[Race], worker: StatusStore, store: NotificationStore, application_id: uuid.UUID, draw: random.Random
) -> list[Any]:
    """Per row: a claim (then, half the time, its send) and a cancel, a second cancel a third of the time, each
    after its own random delay; shuffled, so the claims go to the database in batches of random make-up."""
    calls: list[Any] = []
    for race in races:
        calls.append(_claim_then_maybe_send(worker, race, draw.uniform(0, CLAIM_DELAY_SECONDS), draw.random() < 0.5))
        for _ in range(2 if draw.random() < 1 / 3 else 1):
            calls.append(_cancel(store, application_id, race, draw.uniform(0, CANCEL_DELAY_SECONDS)))
    draw.shuffle(calls)
    return calls


async def _check(gateway: Gateway, race: Race) -> str:
    """The row's end agrees with every answer; returns who won."""
    row = await gateway.row(str(race.notification_id))
    events = [status for status, _, _ in await gateway.events(str(race.notification_id))]
    assert race.claim is not None
    told_cancelled = {answer["status"] == Status.CANCELLED for answer in race.cancels}
    if row["status"] == Status.CANCELLED:
        assert events == ["cancelled"], events
        assert told_cancelled == {True}, race.cancels
        assert (race.claim.state, race.claim.found) == (RowState.REFUSED, Status.CANCELLED)
        return "cancel"
    assert row["status"] in (Status.SENDING, Status.DELIVERED), row["status"]
    assert "cancelled" not in events, events
    assert events[0] == "sending", events
    assert told_cancelled == {False}, race.cancels
    assert all(answer["status"] in (Status.SENDING, Status.DELIVERED) for answer in race.cancels)
    assert race.claim.state is RowState.DONE
    return "claim"


async def _drop(gateway: Gateway, ids: list[uuid.UUID]) -> None:
    """Delete the raced rows (events cascade), so no other test's reconciler meets their lapsing leases."""
    await gateway.db.execute("DELETE FROM webhook_outbox WHERE notification_id = ANY($1::uuid[])", ids)
    await gateway.db.execute("DELETE FROM notification_statuses WHERE id = ANY($1::uuid[])", ids)


async def test_a_cancel_and_a_claim_of_the_same_row_never_both_win(infra: Infra, gateway: Gateway) -> None:
    url = infra.database("NOTIFICATIONS_DATABASE_URL")
    worker = await StatusStore.open(url, lease_seconds=60, pool_size=2)
    store = NotificationStore(await asyncpg.create_pool(url, min_size=1, max_size=8))
    draw = random.Random(SEED)
    winners: Counter[str] = Counter()
    raced: list[uuid.UUID] = []
    try:
        for _ in range(ROUNDS):
            races = await _new_rows(gateway, draw)
            raced += [race.notification_id for race in races]
            application_id = (await gateway.row(str(races[0].notification_id)))["application_id"]
            await asyncio.gather(*_contenders(races, worker, store, application_id, draw))
            for race in races:
                winners[await _check(gateway, race)] += 1
    finally:
        await worker.close()
        await store.pool.close()
        await _drop(gateway, raced)
    assert winners.total() == ROUNDS * ROWS
    assert min(winners.values()) >= ROUNDS * ROWS // 10, winners  # both orders were exercised, many times
    assert len(winners) == 2, winners
