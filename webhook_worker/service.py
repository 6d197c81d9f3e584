"""The webhook_worker process: the expansion loop, the relay, the periodic passes and the HTTP side (/health,
/ready, /metrics) in one event loop, stopped by SIGTERM or SIGINT (stop claiming, let attempts in flight finish,
write their outcomes, exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import asyncpg
import uvloop

from common.db import plain_url
from common.heap import freeze_startup_heap
from common.http_server import HttpServer
from common.periodic import run_every
from delivery.http import worker_app
from webhook_worker import maintenance, metrics
from webhook_worker.outbox import expand_events
from webhook_worker.outcomes import OutcomeWriter
from webhook_worker.relay import Relay
from webhook_worker.sender import WebhookSender
from webhook_worker.settings import WebhookWorkerSettings

logger = logging.getLogger(__name__)

SERVICE = "webhook_worker"
DATABASE_PAUSE_SECONDS = 1.0


def run(settings: WebhookWorkerSettings) -> None:
    """Run webhook_worker until SIGTERM or SIGINT."""
    uvloop.run(serve(settings))


async def serve(settings: WebhookWorkerSettings, stop: asyncio.Event | None = None) -> None:
    """The body of :func:`run`: serves until ``stop`` is set (by SIGTERM or SIGINT when not given)."""
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    pool = await _open_pool(settings, stop)
    if pool is None:
        return
    sender = WebhookSender(
        allow_private=settings.allow_private, timeout_seconds=settings.timeout_seconds, pool_size=settings.concurrency
    )
    writer = OutcomeWriter(pool)
    relay = Relay(pool, sender, writer, settings)
    metrics.watch_breakers(relay.gates.breaker_states)
    http = HttpServer(
        worker_app(service=SERVICE, readiness=lambda: _readiness(pool)), settings.bind_host, settings.port
    )
    await http.start()
    freeze_startup_heap()
    logger.info("%s: HTTP on %s:%d (/health, /ready, /metrics)", SERVICE, settings.bind_host, http.port)
    loops = [
        asyncio.create_task(_expand_forever(pool, relay, settings)),
        asyncio.create_task(run_every(settings.maintenance_seconds, lambda: _maintain(pool, settings), "maintenance")),
        asyncio.create_task(run_every(settings.metrics_seconds, lambda: maintenance.count_backlog(pool), "counting")),
    ]
    sending = asyncio.create_task(relay.run())
    writing = asyncio.create_task(writer.run())
    await stop.wait()
    logger.info("%s: stopping", SERVICE)
    for task in [*loops, sending]:
        task.cancel()
    await asyncio.gather(*loops, sending, return_exceptions=True)
    await relay.drain(settings.shutdown_grace_seconds)
    writing.cancel()
    await asyncio.gather(writing, return_exceptions=True)
    try:
        await writer.flush()
    except Exception:
        logger.warning("could not write the last outcomes: those deliveries are sent again after their lease")
    await sender.close()
    await http.stop()
    await pool.close()
    logger.info("%s: stopped", SERVICE)


async def _open_pool(settings: WebhookWorkerSettings, stop: asyncio.Event) -> asyncpg.Pool | None:
    """The database pool, waiting for the database while it is down; None when stopped first."""
    while not stop.is_set():
        try:
            return await asyncpg.create_pool(
                plain_url(settings.database_url), min_size=2, max_size=settings.db_pool_size
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("database not reachable (%s); trying again", error)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DATABASE_PAUSE_SECONDS):
                    await stop.wait()
    return None


async def _expand_forever(pool: asyncpg.Pool, relay: Relay, settings: WebhookWorkerSettings) -> None:
    """Expand outbox events as they come: at once again after a full batch, else after a poll interval."""
    while True:
        try:
            events, deliveries = await expand_events(pool, settings.batch_size)
        except Exception:  # the database, or anything else: the loop must outlive it
            logger.warning("could not expand the webhook outbox; trying again", exc_info=True)
            await asyncio.sleep(DATABASE_PAUSE_SECONDS)
            continue
        metrics.EXPANDED.inc(events)
        if deliveries:
            relay.wake()
        if events < settings.batch_size:
            await asyncio.sleep(settings.poll_seconds)


async def _maintain(pool: asyncpg.Pool, settings: WebhookWorkerSettings) -> None:
    disabled = await maintenance.disable_failing_endpoints(pool, settings.disable_after_seconds)
    if disabled:
        logger.warning(
            "disabled %d webhook endpoints: %s", disabled, maintenance.disabled_reason(settings.disable_after_seconds)
        )
    await maintenance.stop_disabled_deliveries(pool)
    await maintenance.delete_expired_deliveries(pool, settings.retention_days)


async def _readiness(pool: asyncpg.Pool) -> dict[str, bool]:
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), 2.0)
    except Exception:
        return {"database": False}
    return {"database": True}
