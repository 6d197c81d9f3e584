"""The inbound process: the SMTP server and the HTTP side (/health, /ready, /metrics) in one event loop, stopped
by SIGTERM or SIGINT (stop accepting connections, let sessions in progress end, exit 0)."""

from __future__ import annotations

import asyncio
import logging
import signal

import asyncpg
import uvloop

from common.db import plain_url
from common.heap import freeze_startup_heap
from common.http_server import HttpServer
from delivery.http import worker_app
from inbound.records import Records
from inbound.settings import InboundSettings
from inbound.smtp import InboundHandler, inbound_protocol

logger = logging.getLogger(__name__)

SERVICE = "inbound"
SESSION_GRACE_SECONDS = 5.0


class Inbound:
    """Both servers of one inbound process; ``smtp_port`` and ``http_port`` are the bound ports once started
    (port 0 picks a free one)."""

    def __init__(self, settings: InboundSettings) -> None:
        self._settings = settings
        self.smtp_port = settings.smtp_port
        self.http_port = settings.port
        self._pool: asyncpg.Pool | None = None
        self._smtp: asyncio.Server | None = None
        self._http: HttpServer | None = None

    async def start(self) -> None:
        """Open the pool (lazily: inbound starts, and answers 451, while the database is down) and both servers."""
        settings = self._settings
        self._pool = await asyncpg.create_pool(
            plain_url(settings.database_url), min_size=0, max_size=settings.db_pool_size
        )
        records = Records(self._pool)
        handler = InboundHandler(settings.return_path, records)
        self._smtp = await asyncio.get_running_loop().create_server(
            lambda: inbound_protocol(
                handler, hostname=settings.smtp_hostname, max_message_bytes=settings.max_message_bytes
            ),
            settings.bind_host,
            settings.smtp_port,
        )
        self.smtp_port = self._smtp.sockets[0].getsockname()[1]
        app = worker_app(service=SERVICE, readiness=lambda: _readiness(records))
        self._http = HttpServer(app, settings.bind_host, settings.port)
        self.http_port = self._http.port
        await self._http.start()

    async def stop(self) -> None:
        """Stop accepting mail, give open sessions a moment, then stop the HTTP side and close the pool."""
        if self._smtp is not None:
            self._smtp.close()
            try:
                await asyncio.wait_for(self._smtp.wait_closed(), SESSION_GRACE_SECONDS)
            except TimeoutError:
                logger.warning("SMTP sessions still open after %.0f s: closing them", SESSION_GRACE_SECONDS)
        if self._http is not None:
            await self._http.stop()
        if self._pool is not None:
            await self._pool.close()


AIOSMTPD_LOGGER = "mail.log"
"""aiosmtpd logs every session's commands at INFO; inbound logs what each report did instead."""


def run(settings: InboundSettings) -> None:
    """Run inbound until SIGTERM or SIGINT."""
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)
    uvloop.run(serve(settings))


async def serve(settings: InboundSettings, stop: asyncio.Event | None = None) -> None:
    """The body of :func:`run`: serves until ``stop`` is set (by SIGTERM or SIGINT when not given)."""
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    inbound = Inbound(settings)
    await inbound.start()
    freeze_startup_heap()
    logger.info(
        "%s: SMTP on %s:%d for %s, HTTP on %s:%d (/health, /ready, /metrics)",
        SERVICE,
        settings.bind_host,
        inbound.smtp_port,
        settings.return_path.domain,
        settings.bind_host,
        inbound.http_port,
    )
    await stop.wait()
    logger.info("%s: stopping", SERVICE)
    await inbound.stop()
    logger.info("%s: stopped", SERVICE)


async def _readiness(records: Records) -> dict[str, bool]:
    try:
        return {"database": await asyncio.wait_for(records.ping(), 2.0)}
    except Exception:
        return {"database": False}
