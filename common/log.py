"""JSON logging with the request's correlation id on every line.

Access lines (one per request: the gateway's ``gateway.access``) are formatted and written by a background thread
every 50 ms, in one write: the request path only stamps the record and enqueues it, and does not block on a
pipe that a slow reader (honcho, a log shipper) has let fill up. Every other line is written at once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import sys
import threading
from contextvars import ContextVar
from typing import Any

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


class _Dispatch(logging.Handler):
    """Access lines (loggers named ``*.access``) go to the writer thread; every other line is written at once, as
    a process may be gone right after it (uvicorn re-raises SIGTERM once it has logged its shutdown)."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], direct: logging.Handler) -> None:
        super().__init__()
        self._records = records
        self._direct = direct

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.endswith(ACCESS_SUFFIX):
            if record.exc_info and not record.exc_text:  # tracebacks refer to frames: render them now
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            self._records.put(record)
        else:
            self._direct.handle(record)


class _IntervalWriter(threading.Thread):
    """Every ``WRITE_INTERVAL_SECONDS``, formats the access lines queued meanwhile and writes them in one go: one
    wake-up (one hand-over of the GIL, one write to the pipe) per interval, not per request."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], handler: logging.StreamHandler[Any]) -> None:
        super().__init__(name="log-writer", daemon=True)
        self._records = records
        self._handler = handler
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(WRITE_INTERVAL_SECONDS):
            self.drain()
        self.drain()

    def drain(self) -> None:
        lines = []
        while True:
            try:
                record = self._records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self._handler.format(record))
            except Exception:
                self._handler.handleError(record)
        if lines:
            with contextlib.suppress(Exception):  # stderr is gone: nothing better to do
                self._handler.stream.write("\n".join(lines) + "\n")
                self._handler.flush()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


ACCESS_SUFFIX = ".access"
WRITE_INTERVAL_SECONDS = 0.05
_writer: _IntervalWriter | None = None


def _stop_writer() -> None:
    """Write the queued access lines and stop the writer."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON log lines (time, level, service, logger, message, request_id) to stderr; access lines (loggers
    ``*.access``, one per request) through a writer thread every 50 ms."""
    global _writer
    _stop_writer()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(service)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _Dispatch(records, writer)
    handler.addFilter(_RequestIdFilter(service))
    _writer = _IntervalWriter(records, writer)
    _writer.start()
    atexit.register(_stop_writer)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "asyncio", "httpx"):  # httpx: firebase-admin logs every request
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
