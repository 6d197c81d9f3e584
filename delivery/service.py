"""A worker process: the consumer runtime and the HTTP side in one event loop, stopped by SIGTERM or SIGINT
(stop consuming, finish in-flight messages, stop HTTP, close the deliverer, exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

import uvloop
from fastapi import APIRouter

from common.heap import freeze_startup_heap
from common.http_server import HttpServer
from delivery.http import worker_app
from delivery.outcome import Deliverer
from delivery.runtime import WorkerRuntime
from delivery.settings import WorkerSettings

logger = logging.getLogger(__name__)


def run_worker(
    settings: WorkerSettings, deliverer: Deliverer, *, service: str, routers: Sequence[APIRouter] = ()
) -> None:
    """Run ``deliverer``'s worker until SIGTERM or SIGINT; returns normally (exit 0) after a clean drain. The
    loop is uvloop's: its transports cost a fraction of asyncio's per message."""
    uvloop.run(serve_worker(settings, deliverer, service=service, routers=routers))


async def serve_worker(
    settings: WorkerSettings,
    deliverer: Deliverer,
    *,
    service: str,
    routers: Sequence[APIRouter] = (),
    stop: asyncio.Event | None = None,
) -> None:
    """The body of :func:`run_worker`: serves until ``stop`` is set (by SIGTERM or SIGINT when not given)."""
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    runtime = WorkerRuntime(settings, deliverer, name=service)
    http = HttpServer(
        worker_app(service=service, readiness=runtime.readiness, routers=routers), settings.bind_host, settings.port
    )
    await http.start()
    freeze_startup_heap()
    logger.info("%s: HTTP on %s:%d (/health, /ready, /metrics)", service, settings.bind_host, http.port)
    starting = asyncio.create_task(runtime.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and (error := starting.exception()) is not None:
        stopping.cancel()
        await http.stop()
        await deliverer.close()
        raise error
    await stopping
    logger.info("%s: stopping", service)
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await runtime.stop()
    await http.stop()
    await deliverer.close()
    logger.info("%s: stopped", service)
