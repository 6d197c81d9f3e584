"""The bench's webhook endpoints at the dev webhook receiver: registered through the gateway's REST routes with
their secrets told to the receiver (so it verifies every delivery), an outbox filled straight in the database
for the rate phase, and what the receiver counted under an endpoint's path."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from common.applications import DEFAULT_APPLICATION_ID
from devstack.stack import Stack

DELIVERED = "notification.delivered"
MIXED_EVENTS = [DELIVERED, "notification.failed"]


async def register(http: httpx.AsyncClient, stack: Stack, path: str, events: list[str]) -> str:
    """Through ``http`` (a client of the gateway): an endpoint of the default application at the receiver's
    ``path``, its secret told to the receiver; returns its id."""
    response = await http.post(
        "/v1/webhooks",
        json={"url": stack.url("webhook_receiver") + path, "events": events, "description": "bench"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"registering a webhook endpoint failed: {response.status_code} {response.text}")
    created = response.json()
    told = await http.post(
        f"{stack.url('webhook_receiver')}/secrets", json={"path_prefix": path, "secret": created["secret"]}
    )
    told.raise_for_status()
    return str(created["id"])


async def remove(http: httpx.AsyncClient, stack: Stack, endpoint_id: str) -> None:
    """Delete an endpoint, so later phases write no events for it."""
    response = await http.delete(f"/v1/webhooks/{endpoint_id}")
    if response.status_code not in (204, 404):
        raise RuntimeError(f"deleting webhook endpoint {endpoint_id} failed: {response.status_code} {response.text}")


async def fill_outbox(pool: asyncpg.Pool, events: int) -> None:
    """``events`` ``notification.delivered`` events of the default application in the outbox, each with a
    snapshot the size of a real one, as the status writes leave them (docs/design.md §7 "Events out")."""
    await pool.execute(
        """
        INSERT INTO webhook_outbox (application_id, event_type, notification_id, data)
        SELECT $1, $2, n.id, jsonb_build_object(
            'notification_id', n.id, 'user_id', gen_random_uuid(), 'channel', 'email', 'template', 'bench',
            'template_version', 1, 'locale', 'en', 'priority', 'normal', 'status', 'delivered', 'reason', NULL,
            'attempts', 1, 'last_error', NULL, 'metadata', jsonb_build_object('order', 'A-' || i),
            'expires_at', NULL, 'created_at', now(), 'updated_at', now(), 'delivered_at', now(),
            'event', jsonb_build_object('status', 'delivered', 'attempt', 1, 'detail', NULL, 'sequence', 3))
        FROM generate_series(1, $3) AS i, LATERAL (SELECT gen_random_uuid() AS id) AS n
        """,
        DEFAULT_APPLICATION_ID,
        DELIVERED,
        events,
    )


async def deliveries_left(pool: asyncpg.Pool) -> dict[str, int]:
    """Outbox rows not yet expanded, and deliveries not yet final."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM webhook_outbox) AS outbox, "
        "(SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'retrying')) AS unsent"
    )
    return {"outbox": int(row["outbox"]), "unsent": int(row["unsent"])}


async def received(http: httpx.AsyncClient, stack: Stack, path_prefix: str) -> dict[str, Any]:
    """The receiver's statistics under ``path_prefix``."""
    response = await http.get(f"{stack.url('webhook_receiver')}/deliveries/stats", params={"path_prefix": path_prefix})
    response.raise_for_status()
    return dict(response.json())
