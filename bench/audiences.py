"""Recipients in bulk for the batch and topic phases: users written straight into the bench's users database
(tens of thousands through ``POST /v1/users`` would take minutes of password hashing the phases do not
measure), and 1,000-recipient batches sent through the gateway with each answer timed."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import httpx

from bench.environment import POSTGRES, TEMPLATE
from common.applications import DEFAULT_APPLICATION_ID
from common.ids import new_notification_id

USERS_DATABASE = f"{POSTGRES}/bench_users"

_SEED_USERS = """
WITH made AS (
    INSERT INTO users (id, application_id, name, email, locale, password_hash)
    SELECT id, $1, 'Bulk ' || n, $2 || n || '@bench.example.com', 'en', '!bench: never logs in'
    FROM unnest($3::uuid[]) WITH ORDINALITY AS made(id, n)
    RETURNING id
)
INSERT INTO preferences (user_id) SELECT id FROM made
"""


async def seed_users(count: int, prefix: str, database: str = USERS_DATABASE) -> list[str]:
    """``count`` new users of the default application with an email address and every channel on, written into
    the users ``database``; their ids in creation order. Nothing has asked for their profiles yet, so no cache
    holds them."""
    ids = [new_notification_id() for _ in range(count)]  # a UUIDv7, as user_svc makes them
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(_SEED_USERS, DEFAULT_APPLICATION_ID, f"{prefix}-", ids)
    finally:
        await connection.close()
    return [str(user_id) for user_id in ids]


async def send_batch(http: httpx.AsyncClient, recipients: list[str], run_id: str) -> dict[str, Any]:
    """One email batch to ``recipients`` through ``http`` (a client of the gateway): its status, how long the
    answer took, and how many items were queued."""
    body = {
        "channel": "email",
        "template": TEMPLATE,
        "variables": {"order": run_id, "name": "Reader", "link": f"https://shop.example.com/track/{run_id}"},
        "metadata": {"run": run_id},
        "recipients": [{"user_id": user_id} for user_id in recipients],
    }
    started = time.perf_counter()
    response = await http.post("/v1/notifications/batch", json=body)
    seconds = time.perf_counter() - started
    items = response.json().get("items", []) if response.status_code == 202 else []
    return {
        "status": response.status_code,
        "seconds": seconds,
        "queued": sum(1 for item in items if item["status"] == "queued"),
        "error": None if response.status_code == 202 else response.text[:300],
    }


_SUBSCRIBE_ALL = """
INSERT INTO topic_subscriptions (application_id, topic_id, user_id)
SELECT $1, (SELECT id FROM topics WHERE application_id = $1 AND key = $2), user_id FROM unnest($3::uuid[]) AS user_id
"""


async def seed_topic(http: httpx.AsyncClient, key: str, user_ids: list[str]) -> None:
    """A topic of the default application made through ``http`` (a client of the gateway), with ``user_ids``
    subscribed straight in the users database (50 calls of the 1,000-id route would measure nothing here)."""
    response = await http.post("/v1/topics", json={"key": key, "name": f"bench {key}"})
    if response.status_code != 201:
        raise RuntimeError(f"creating topic {key} failed: {response.status_code} {response.text}")
    await subscribe_all(key, user_ids)


async def subscribe_all(key: str, user_ids: list[str], database: str = USERS_DATABASE) -> None:
    """Subscribe ``user_ids`` to the default application's topic ``key``, straight in the users ``database``."""
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(_SUBSCRIBE_ALL, DEFAULT_APPLICATION_ID, key, [uuid.UUID(user) for user in user_ids])
    finally:
        await connection.close()


async def send_to_topic(http: httpx.AsyncClient, key: str, run_id: str) -> str:
    """One email to every subscriber of topic ``key``; the broadcast's id."""
    response = await http.post(
        "/v1/notifications/send",
        json={
            "to": {"topic": key},
            "channel": "email",
            "template": TEMPLATE,
            "variables": {"order": run_id, "name": "Reader", "link": f"https://shop.example.com/track/{run_id}"},
        },
    )
    if response.status_code != 202:
        raise RuntimeError(f"the topic send failed: {response.status_code} {response.text}")
    return str(response.json()["broadcast_id"])


async def broadcast(http: httpx.AsyncClient, broadcast_id: str) -> dict[str, Any]:
    """The broadcast as ``GET /v1/broadcasts/{id}`` shows it."""
    response = await http.get(f"/v1/broadcasts/{broadcast_id}")
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found
