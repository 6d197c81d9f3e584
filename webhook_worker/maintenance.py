"""The relay's periodic passes (docs/design.md §7 "Events out"): disabling endpoints that failed every delivery for
the whole window, stopping the deliveries of disabled endpoints, deleting deliveries past retention, and counting
the backlog for the gauges."""

from __future__ import annotations

import asyncpg

from webhook_worker import metrics

ROWS_PER_STATEMENT = 1000
"""Deleting or stopping in pieces keeps each statement's locks and WAL small."""
DISABLED_DETAIL = "the endpoint is disabled"

DISABLE_FAILING = """
UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
WHERE enabled AND failing_since < now() - make_interval(secs => $1)
"""
STOP_DISABLED = """
UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2, updated_at = now()
WHERE id IN (
    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND NOT e.enabled
    WHERE d.status IN ('pending', 'retrying') LIMIT $1 FOR UPDATE OF d SKIP LOCKED
)
"""
DELETE_EXPIRED = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE created_at < now() - make_interval(secs => $1) LIMIT $2
)
"""
COUNT_DUE = (
    "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now()"
)
COUNT_OUTBOX = "SELECT count(*) FROM webhook_outbox"


def disabled_reason(window_seconds: float) -> str:
    """The ``disabled_reason`` an endpoint gets after failing for ``window_seconds``."""
    days = window_seconds / 86400
    window = f"{days:g} days" if days >= 1 else f"{window_seconds:g} s"
    return f"every delivery failed for {window}"


async def disable_failing_endpoints(pool: asyncpg.Pool, window_seconds: float) -> int:
    """Disable the endpoints whose ``failing_since`` is older than ``window_seconds``; returns how many."""
    status = await pool.execute(DISABLE_FAILING, window_seconds, disabled_reason(window_seconds))
    disabled = _row_count(status)
    metrics.ENDPOINTS_DISABLED.inc(disabled)
    return disabled


async def stop_disabled_deliveries(pool: asyncpg.Pool) -> int:
    """Make the pending and retrying deliveries of disabled endpoints ``failed``; returns how many. A replay
    (docs/api.md "Webhooks") sends them again once the endpoint is enabled."""
    stopped = 0
    while (count := _row_count(await pool.execute(STOP_DISABLED, ROWS_PER_STATEMENT, DISABLED_DETAIL))) > 0:
        stopped += count
    return stopped


async def delete_expired_deliveries(pool: asyncpg.Pool, retention_days: float) -> int:
    """Delete deliveries created more than ``retention_days`` ago; returns how many."""
    deleted = 0
    while (count := _row_count(await pool.execute(DELETE_EXPIRED, retention_days * 86400, ROWS_PER_STATEMENT))) > 0:
        deleted += count
    metrics.DELIVERIES_EXPIRED.inc(deleted)
    return deleted


async def count_backlog(pool: asyncpg.Pool) -> None:
    """Set the gauges of due deliveries and outbox depth."""
    metrics.BACKLOG.set(await pool.fetchval(COUNT_DUE))
    metrics.OUTBOX_DEPTH.set(await pool.fetchval(COUNT_OUTBOX))


def _row_count(status: str) -> int:
    """The row count in a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])
