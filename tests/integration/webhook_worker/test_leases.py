"""A worker killed mid-send leaves its claimed deliveries leased; they are sent again once the lease lapses, under
the same ``webhook-id``, and a manual retry or replay (docs/api.md "Webhooks") puts a final delivery back."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg

from tests.integration.webhook_worker.support import add_endpoint, add_event, eventually, final
from tests.support.webhook_receiver import WebhookReceiver

LEASE_SECONDS = 3.0
REPLAY = """
UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE endpoint_id = $1 AND status IN ('succeeded', 'failed') AND event_at >= $2
"""


async def test_a_killed_workers_deliveries_are_sent_after_the_lease(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/slow/2/killed"))
    await add_event(pool)
    environment = {
        **os.environ,
        "WEBHOOK_WORKER_PORT": "0",
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WEBHOOK_WORKER_POLL_SECONDS": "0.05",
        "WEBHOOK_WORKER_TIMEOUT_SECONDS": "1.2",
        "WEBHOOK_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "webhook_worker", env=environment)
    try:
        await eventually(lambda: asyncio.sleep(0, receiver.at("/slow/2/killed")), timeout=20)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    [first] = receiver.at("/slow/2/killed")
    await pool.execute("UPDATE webhook_endpoints SET url = $2 WHERE id = $1", endpoint["id"], receiver.url("/ok/again"))

    async with worker(lease_seconds=LEASE_SECONDS, timeout_seconds=1.2):
        [delivery] = await final(pool, endpoint["id"], timeout=15)

    [again] = receiver.at("/ok/again")
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == str(delivery["id"])
    assert again.at - first.at >= LEASE_SECONDS - 0.5
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 1)


async def test_a_replay_sends_final_deliveries_again(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/ok/replayed"))
    await add_event(pool, data='{"sequence": 1}')
    await add_event(pool, data='{"sequence": 2}')

    async with worker():
        first_round = await final(pool, endpoint["id"], 2)
        await pool.execute(REPLAY, endpoint["id"], first_round[1]["event_at"])
        await eventually(lambda: asyncio.sleep(0, len(receiver.at("/ok/replayed")) == 3))
        second_round = await final(pool, endpoint["id"], 2)

    *originals, replayed = receiver.at("/ok/replayed")
    assert replayed.headers["webhook-id"] == str(first_round[1]["id"])
    [original] = [request for request in originals if request.headers["webhook-id"] == str(first_round[1]["id"])]
    assert replayed.body == original.body
    assert [row["status"] for row in second_round] == ["succeeded", "succeeded"]
