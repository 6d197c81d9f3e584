"""``python -m devstack.sinks.smtp``: run the dev SMTP sink until SIGTERM or SIGINT.

Environment: ``BIND_HOST`` (127.0.0.1), ``SMTP_SINK_PORT`` (1025), ``SMTP_SINK_HTTP_PORT`` (1080),
``SMTP_SINK_DIR`` (``.run/mail``), ``SMTP_SINK_REPORTS_TO`` (``127.0.0.1:2526``, the inbound service; empty: no
bounce or complaint answers), ``LOG_LEVEL`` (INFO).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import uvloop

from devstack.sinks.smtp.server import SmtpSink


async def serve() -> None:
    """Run the sink configured by the environment until a stop signal."""
    sink = SmtpSink(
        Path(os.environ.get("SMTP_SINK_DIR", ".run/mail")),
        host=os.environ.get("BIND_HOST", "127.0.0.1"),
        smtp_port=int(os.environ.get("SMTP_SINK_PORT", "1025")),
        http_port=int(os.environ.get("SMTP_SINK_HTTP_PORT", "1080")),
        reports_to=os.environ.get("SMTP_SINK_REPORTS_TO", "127.0.0.1:2526") or None,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await sink.start()
    print(
        f"smtp sink: SMTP on {sink.host}:{sink.smtp_port}, messages at http://{sink.host}:{sink.http_port}/messages,"
        f" files in {sink.mailbox.directory}",
        flush=True,
    )
    await stop.wait()
    await sink.stop()


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    uvloop.run(serve())
