"""Batched writers of ``notification_statuses`` never deadlock one another: two workers' claims and outcome
writes and the gateway's ``published_at`` stamps, each a multi-row statement over the same rows in a different
order, all lock rows in id order (a deadlock costs PostgreSQL's ``deadlock_timeout``, a second, and the retry)."""

from __future__ import annotations

import asyncio
import random
import uuid

import asyncpg

from common.notification_tables import Status
from delivery.status_store import Outcome, StatusStore
from devstack.infra import Infra
from gateway.store import NotificationStore
from tests.integration.delivery.support import Gateway, email_envelope

ROUNDS = 12
ROWS = 40


async def test_concurrent_batches_over_the_same_rows_in_any_order_never_deadlock(
    infra: Infra, gateway: Gateway
) -> None:
    url = infra.database("NOTIFICATIONS_DATABASE_URL")
    workers = [await StatusStore.open(url, lease_seconds=60, pool_size=2) for _ in range(2)]
    stamps = NotificationStore(await asyncpg.create_pool(url, min_size=1, max_size=2))
    shuffle = random.Random(7).sample
    errors: list[BaseException] = []
    try:
        for _ in range(ROUNDS):
            envelopes = [email_envelope() for _ in range(ROWS)]
            for envelope in envelopes:
                await gateway.insert_row(envelope)
            ids = [envelope.notification_id for envelope in envelopes]
            unstamped = "UPDATE notification_statuses SET published_at = NULL WHERE id = ANY($1::uuid[])"
            await gateway.db.execute(unstamped, [uuid.UUID(key) for key in ids])
            calls = [
                *(workers[0].claim(key, 1) for key in shuffle(ids, ROWS)),
                *(workers[1].write(Outcome(key, Status.RETRYING, 1, retry_in_seconds=5)) for key in shuffle(ids, ROWS)),
                *(workers[0].write(Outcome(key, Status.DELIVERED, 1)) for key in shuffle(ids, ROWS)),
                *(workers[1].claim(key, 2) for key in shuffle(ids, ROWS)),
                stamps.mark_published([uuid.UUID(key) for key in shuffle(ids, ROWS)]),
                stamps.mark_published([uuid.UUID(key) for key in shuffle(ids, ROWS)]),
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
            errors += [result for result in results if isinstance(result, BaseException)]
    finally:
        for worker in workers:
            await worker.close()
        await stamps.pool.close()
    assert errors == []
