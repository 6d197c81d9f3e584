"""The key phase: what a send costs with a key from the ``api_keys`` table (cached in process) against a key of
``GATEWAY_API_KEYS``, with 10,000 other keys in the table, as A/B rounds on one running stack (bench/README.md)."""

from __future__ import annotations

from typing import Any

import httpx

from common.applications import DEFAULT_APPLICATION_ID

SIDES = ("environment", "table")
"""A: the deployment's key (GATEWAY_API_KEYS, compared in memory), B: a key created through the API."""
FILLER_KEYS = 10_000

_FILL = """
INSERT INTO api_keys (id, application_id, name, prefix, secret_hash, scopes, mode)
SELECT 'bench' || md5(random()::text || g), $1, 'bench filler ' || g, 'nk_bench', sha256(g::text::bytea),
       ARRAY['notifications:send', 'notifications:read'], 'live'
FROM generate_series(1, $2) AS g
"""


async def fill_key_table(db: Any, count: int = FILLER_KEYS) -> int:
    """``count`` keys of the default application nobody uses, so the table holds what a busy deployment's does;
    the number of keys in the table afterwards."""
    await db.execute(_FILL, DEFAULT_APPLICATION_ID, count)
    found: int = await db.fetchval("SELECT count(*) FROM api_keys")
    return found


async def create_send_key(gateway_url: str, admin_key: str) -> str:
    """A live send-only key of the default application, made as an operator makes one."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post(
            f"/v1/applications/{DEFAULT_APPLICATION_ID}/keys",
            headers={"X-API-Key": admin_key},
            json={"name": "bench", "scopes": ["notifications:send"]},
        )
        response.raise_for_status()
        key: str = response.json()["key"]
        return key


def total_cpu_us_per_send(cpu_us_per_send: dict[str, float]) -> float:
    """CPU µs per send summed over every process the bench watches (services, Postgres, RabbitMQ, Redis, honcho)."""
    return round(sum(cpu_us_per_send.values()), 1)


FIGURES = ("accepted_per_second", "gateway_cpu_us_per_send", "total_cpu_us_per_send")
