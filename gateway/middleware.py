"""The edge of every request, as one plain ASGI middleware (cheaper than a stack of BaseHTTPMiddleware):
the correlation id in and out, the body limits (413, 415), the latency histogram and the JSON access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.log import request_id_var
from gateway.errors import problem_response
from gateway.metrics import REQUEST_LATENCY

access_logger = logging.getLogger("gateway.access")
logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
BODY_LIMITS = {"/v1/notifications/batch": 1024 * 1024}
"""Routes that take more than :data:`MAX_BODY_BYTES` (a batch names up to 1,000 recipients)."""
ANY_BODY_PREFIX = "/u/"
"""The one-click unsubscribe URLs (RFC 8058): mail providers POST them with a form body (or none), so any content
type is taken, and at most :data:`ANY_BODY_BYTES` of it (the body is never read)."""
ANY_BODY_BYTES = 1024
FORM_PREFIX = "/console/"
"""The console's pages take HTML form bodies (up to :data:`MAX_BODY_BYTES`) instead of JSON."""
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _accepted_media(path: str, content_type: str) -> bool:
    """JSON everywhere; an urlencoded form on the console's pages."""
    if path.startswith(FORM_PREFIX):
        return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"
    return _is_json(content_type)


class EdgeMiddleware:
    """Stamps, guards, times and logs every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        content_length: int | None = None
        content_type = ""
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    request_id = candidate
            elif name == b"content-length":
                content_length = int(value) if value.isdigit() else -1
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            limit = _limit(scope["path"])
            refusal = self._refusal(scope, content_length, content_type, limit)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(
                    scope, self._limited(receive, limit) if scope["method"] in _BODY_METHODS else receive, send_with_id
                )
        except Exception:
            logger.exception("unhandled error")
            if not started_response:
                await problem_response(500, "internal error", scope["path"])(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(scope["method"], template, str(status)).observe(elapsed)
            access_logger.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "client": _client(scope),
                },
            )
            request_id_var.reset(token)

    @staticmethod
    def _refusal(scope: Scope, content_length: int | None, content_type: str, limit: int) -> ASGIApp | None:
        """A 413 (over ``limit`` bytes) or 415 response for a body the gateway will not read, else None."""
        if scope["method"] not in _BODY_METHODS:
            return None
        if content_length is not None and content_length > limit:
            return problem_response(413, f"the request body is over {limit} bytes", scope["path"])
        if scope["path"].startswith(ANY_BODY_PREFIX):
            return None
        has_body = content_length is None or content_length > 0
        if has_body and content_type and not _accepted_media(scope["path"], content_type):
            return problem_response(415, "send the body as application/json", scope["path"])
        if has_body and not content_type and content_length is not None:
            return problem_response(415, "send the body as application/json", scope["path"])
        return None

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        """``receive`` that counts the streamed body and refuses it past ``limit`` bytes."""
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is over {limit} bytes")
            return message

        return receive_limited


def _limit(path: str) -> int:
    """The most body bytes the route of ``path`` takes."""
    return ANY_BODY_BYTES if path.startswith(ANY_BODY_PREFIX) else BODY_LIMITS.get(path, MAX_BODY_BYTES)


def _client(scope: Scope) -> Any:
    client = scope.get("client")
    return client[0] if client else None
