"""Every error as ``application/problem+json`` (docs/design.md §3 REST, RFC 9457), and the translation of gRPC status
codes, validation errors and unreachable dependencies into the HTTP status a client can act on."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import aio_pika.exceptions
import asyncpg
import grpc
import orjson
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from common.grpc.errors import field_violations
from common.grpc.interceptors import INTERNAL_KEY_HEADER
from common.log import request_id_var
from gateway.problem_types import ProblemType, type_uri
from gateway.schemas.problems import PROBLEM_MEDIA_TYPE

logger = logging.getLogger(__name__)

FieldErrors = Sequence[Mapping[str, str]]


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: FieldErrors | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        kind: ProblemType | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def field(cls, field: str, message: str) -> ProblemError:
        """A 422 for one field."""
        return cls(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def problem_body(
    status: int,
    detail: str,
    instance: str,
    *,
    errors: FieldErrors | None = None,
    extra: Mapping[str, Any] | None = None,
    kind: ProblemType | None = None,
) -> bytes:
    """The JSON bytes of a problem; ``type`` names ``kind``, else the usual kind of ``status``."""
    body: dict[str, Any] = {
        "type": type_uri(status, kind),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return orjson.dumps(body)


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    errors: FieldErrors | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    kind: ProblemType | None = None,
) -> Response:
    """A problem as a response."""
    return Response(
        problem_body(status, detail, instance, errors=errors, extra=extra, kind=kind),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_path(location: Iterable[Any]) -> str:
    """A pydantic error location as a dotted REST field path: ``("body", "variables", "name")`` →
    ``variables.name``; a path, query or header parameter is named by itself."""
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in {"body", "path", "query", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(error: RequestValidationError) -> ProblemError:
    """400 for a body that is not JSON or not UTF-8, otherwise 422 listing each wrong field."""
    problems = error.errors()
    if any(item.get("type") == "json_invalid" for item in problems):
        return ProblemError(400, "the request body is not valid JSON")
    if any(item.get("type") == "string_unicode" for item in problems):  # bytes of a surrogate: not UTF-8
        return ProblemError(400, "the request body is not valid UTF-8")
    errors = [
        {"field": field_path(item.get("loc", ())), "message": str(item.get("msg", "is invalid"))} for item in problems
    ]
    return ProblemError(422, "the request has invalid fields", errors=errors)


_RPC_STATUS = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
}


BUSY_RETRY_AFTER = {"Retry-After": "1"}
"""What a 503 for a busy backend asks the client to wait."""


def rpc_problem(error: grpc.aio.AioRpcError) -> ProblemError:
    """The HTTP answer to a failed backend call.

    A backend that sheds load (RESOURCE_EXHAUSTED) is a 503 with ``Retry-After``. One that refuses our internal
    key (UNAUTHENTICATED) or answers with a code a client cannot cause is our fault or an outage: 503, logged
    loudly, never the backend's message.
    """
    code = error.code()
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:  # the backend sheds load: soon is fine
        logger.warning("backend busy: %s", error.details())
        return ProblemError(
            503,
            "a service this request needs is busy; retry after Retry-After seconds",
            headers=BUSY_RETRY_AFTER,
            kind=ProblemType.BUSY,
        )
    status = _RPC_STATUS.get(code)
    if status is None:
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            logger.warning("backend call failed: %s %s", code.name, error.details())
        else:
            logger.error("backend call failed with %s: %s (misconfiguration or a bug)", code.name, error.details())
        return ProblemError(503, "a service this request needs is unavailable; retry later")
    detail = error.details() or HTTPStatus(status).phrase
    if status == 422:
        errors = [{"field": v.field, "message": v.description} for v in field_violations(error)]
        return ProblemError(422, detail, errors=errors or [{"field": "body", "message": detail}])
    return ProblemError(status, detail)


def is_internal_key_refusal(error: grpc.aio.AioRpcError) -> bool:
    """True when a backend refused the call for want of our internal key, not for the caller's credentials."""
    return error.code() == grpc.StatusCode.UNAUTHENTICATED and INTERNAL_KEY_HEADER in (error.details() or "")


DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,  # a full Redis under maxmemory-policy noeviction refuses writes
    redis.exceptions.ClusterDownError,  # a Redis Cluster with a slot unserved (a master down, not yet replaced)
    redis.exceptions.TryAgainError,  # a slot being moved between a cluster's nodes
    redis.exceptions.RedisClusterUnreachableError,
    redis.exceptions.SlotNotCoveredError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InternalClientError,  # a pooled connection the server dropped mid-protocol (seen in chaos)
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    TimeoutError,
    ConnectionError,
    OSError,
)
"""Exceptions that mean a dependency is down or slow: the request was not accepted, retry later."""


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error the application raises with a problem body."""

    async def on_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, ProblemError)
        return problem_response(
            error.status,
            error.detail,
            request.url.path,
            errors=error.errors,
            headers=error.headers,
            extra=error.extra,
            kind=error.kind,
        )

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        return problem_response(error.status_code, detail, request.url.path, headers=error.headers)

    async def on_validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return await on_problem(request, validation_problem(error))

    async def on_rpc(request: Request, error: Exception) -> Response:
        assert isinstance(error, grpc.aio.AioRpcError)
        return await on_problem(request, rpc_problem(error))

    async def on_dependency(request: Request, error: Exception) -> Response:
        logger.warning("dependency unavailable: %s: %s", type(error).__name__, error)
        return problem_response(503, "a dependency is unavailable; nothing was accepted, retry later", request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(grpc.aio.AioRpcError, on_rpc)
    for kind in DEPENDENCY_ERRORS:
        app.add_exception_handler(kind, on_dependency)
