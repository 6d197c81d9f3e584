"""Retention: deliveries older than ``WEBHOOK_RETENTION_DAYS`` are deleted, newer ones kept."""

from __future__ import annotations

import asyncpg

from tests.integration.webhook_worker.support import add_endpoint, deliveries, eventually

INSERT_DELIVERY = """
INSERT INTO webhook_deliveries (id, endpoint_id, application_id, event_type, body, status, event_at, created_at)
SELECT gen_random_uuid(), $1, $2, 'notification.delivered', '{}', 'succeeded', t, t
FROM (SELECT now() - make_interval(days => $3) AS t, generate_series(1, $4)) AS at
"""


async def test_old_deliveries_are_deleted(pool: asyncpg.Pool, worker) -> None:
    endpoint = await add_endpoint(pool, "http://127.0.0.1:9/kept")
    await pool.execute(INSERT_DELIVERY, endpoint["id"], endpoint["application_id"], 31, 1500)
    await pool.execute(INSERT_DELIVERY, endpoint["id"], endpoint["application_id"], 29, 3)

    async with worker(retention_days=30):
        await eventually(lambda: pool.fetchval("SELECT count(*) = 3 FROM webhook_deliveries"))

    kept = await deliveries(pool, endpoint["id"])
    assert len(kept) == 3
