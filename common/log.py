"""JSON logging with the request's correlation id on every line.

Records are formatted and written by a background thread (``QueueHandler`` → ``QueueListener``): the thread that
logs only stamps the record and enqueues it. A hot path (the gateway writes an access line per request) must
not format JSON nor block on a pipe that a slow reader (honcho, a log shipper) has let fill up; the listener is
stopped, and so the queue drained, at exit.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    """Stamps each record with the service name and the correlation id of the current context."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self._service
        record.request_id = request_id_var.get()
        return True


class _StampingQueueHandler(logging.handlers.QueueHandler):
    """Enqueues each record with its service and correlation id (the context is the caller's, so the filter
    runs here), leaving the formatting to the listener's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.exc_info and not record.exc_text:  # tracebacks refer to frames: render them now
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        return record


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON log lines (time, level, service, logger, message, request_id) to stderr, written by a
    background thread."""
    global _listener
    _stop_listener()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(service)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _StampingQueueHandler(records)
    handler.addFilter(_RequestIdFilter(service))
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()
    atexit.register(_stop_listener)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "asyncio", "httpx"):  # httpx: firebase-admin logs every request
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
