"""uvicorn's httptools protocol with the limits a slow or greedy client meets (docs/operations.md, "Security").

uvicorn bounds only the idle time between requests (``timeout_keep_alive``): a client that sends its request
line and headers a byte at a time, or never finishes its body, holds its connection, and every such
connection counts against the connection cap. Here a request's headers must arrive within
``header_timeout`` seconds of the connection (or of the first byte of a later request), in at most
``max_header_bytes``, and its body within ``body_timeout`` seconds of its headers; the connection is closed
otherwise. Past ``max_connections`` open connections in this process, a request is answered 503 at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.errors import BUSY_RETRY_AFTER, problem_body, problem_response
from gateway.metrics import CLIENTS_CUT_OFF
from gateway.problem_types import ProblemType

logger = logging.getLogger(__name__)

_HEADERS_TOO_LARGE = "the request line and headers are too large"


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """What one connection may take of the server."""

    max_connections: int
    header_timeout: float
    body_timeout: float
    max_header_bytes: int


async def _too_many_connections(scope: Scope, receive: Receive, send: Send) -> None:
    CLIENTS_CUT_OFF.labels("too_many_connections").inc()
    response = problem_response(
        503,
        "the server has too many open connections; retry later",
        scope["path"],
        headers={**BUSY_RETRY_AFTER, "Connection": "close"},
        kind=ProblemType.BUSY,
    )
    await response(scope, receive, send)


async def _headers_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    CLIENTS_CUT_OFF.labels("headers_too_large").inc()
    response = problem_response(431, _HEADERS_TOO_LARGE, scope["path"], headers={"Connection": "close"})
    await response(scope, receive, send)


class GuardedHttpProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, cut off when its client is too slow to send a request."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ClientLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = limits
        self._application = self.app
        self._reading: Literal["headers", "body", "nothing"] = "headers"
        self._header_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading == "nothing":  # the first byte of the next request (or of what precedes it)
            self._expect_headers()
        if self._reading == "headers":
            self._header_bytes += len(data)
        super().data_received(data)
        if self._reading == "headers" and self._header_bytes > self._limits.max_header_bytes:  # still coming
            CLIENTS_CUT_OFF.labels("headers_too_large").inc()
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, _HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        if self._reading == "nothing":  # a pipelined request in the same read as the end of the one before
            self._expect_headers()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._cancel_deadline()
        self._reading = "body"
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self._limits.max_header_bytes:
            self.app = _headers_too_large
        elif len(self.connections) > self._limits.max_connections:
            self.app = _too_many_connections
        else:
            self.app = self._application
        super().on_headers_complete()
        self._deadline = self.loop.call_later(self._limits.body_timeout, self._too_slow)

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        self._reading = "nothing"
        super().on_message_complete()

    def _expect_headers(self) -> None:
        self._cancel_deadline()
        self._reading = "headers"
        self._header_bytes = 0
        self._deadline = self.loop.call_later(self._limits.header_timeout, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        """Headers not in after ``header_timeout`` (408 if any byte came) or a body not in after ``body_timeout``
        (the application, waiting for it, sees the client disconnect)."""
        self._deadline = None
        if self.transport.is_closing():
            return
        reason = "header_timeout" if self._reading == "headers" else "body_timeout"
        CLIENTS_CUT_OFF.labels(reason).inc()
        logger.info("closed a connection from %s: %s", self.client[0] if self.client else "?", reason)
        if self._reading == "headers" and self._header_bytes:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, "the request did not arrive in time")
        else:
            self.transport.close()

    def _refuse(self, status: HTTPStatus, detail: str) -> None:
        """Answer ``status`` as a problem without reading further, and close the connection."""
        self._cancel_deadline()
        body = problem_body(status, detail, "")
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()
