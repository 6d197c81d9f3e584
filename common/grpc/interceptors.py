"""gRPC interceptors: the internal key on both sides, the correlation id, error mapping and RPC metrics."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import grpc
import sqlalchemy.exc
from prometheus_client import Histogram

from common.grpc.errors import ServiceError, Unavailable, to_status
from common.log import request_id_var

logger = logging.getLogger(__name__)

INTERNAL_KEY_HEADER = "x-internal-api-key"
REQUEST_ID_HEADER = "x-request-id"
HEALTH_PREFIX = "/grpc.health.v1.Health/"

RPC_LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "Time a gRPC server spent on one RPC, by method and status code.",
    ["method", "code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

Behavior = Callable[..., Any]


def _metadata_value(details: grpc.HandlerCallDetails, key: str) -> str | None:
    for item_key, value in details.invocation_metadata or ():
        if item_key == key:
            return value if isinstance(value, str) else value.decode()
    return None


def _rewrap(handler: grpc.RpcMethodHandler, wrap: Callable[[Behavior], Behavior]) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour wrapped, whatever its streaming kind."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary), handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream), handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary), handler.request_deserializer, handler.response_serializer
        )
    return grpc.stream_stream_rpc_method_handler(
        wrap(handler.stream_stream), handler.request_deserializer, handler.response_serializer
    )


def _is_streaming_response(handler: grpc.RpcMethodHandler) -> bool:
    return bool(handler.unary_stream or handler.stream_stream)


class InternalKeyInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every RPC but health without the right ``x-internal-api-key`` (constant-time compare)."""

    def __init__(self, internal_key: str) -> None:
        self._key = internal_key.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(HEALTH_PREFIX):
            return handler
        presented = _metadata_value(handler_call_details, INTERNAL_KEY_HEADER)
        if presented is not None and hmac.compare_digest(presented.encode(), self._key):
            return handler
        reason = "missing" if presented is None else "wrong"
        logger.warning("refused %s: %s %s", method, reason, INTERNAL_KEY_HEADER)
        message = f"{reason} {INTERNAL_KEY_HEADER} metadata"

        def deny(_: Behavior) -> Behavior:
            if _is_streaming_response(handler):

                async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
                    yield  # pragma: no cover - makes this an async generator

                return deny_stream

            async def deny_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

            return deny_unary

        return _rewrap(handler, deny)


_UNAVAILABLE_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    OSError,  # refused, reset, unreachable; TimeoutError too
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def _is_unavailable(error: BaseException) -> bool:
    """A dependency is down or unreachable: seen as such directly or in the chain of causes (SQLAlchemy wraps
    asyncpg's connection errors in a plain ``DBAPIError``)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _UNAVAILABLE_ERRORS):
            return True
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__
    return False


def _status_of_exception(error: BaseException) -> grpc.Status:
    if isinstance(error, ServiceError):
        return to_status(error.code, error.message, error.violations)
    if _is_unavailable(error):
        return to_status(Unavailable.code, "a dependency is unavailable, retry later")
    logger.exception("unexpected error")
    return to_status(grpc.StatusCode.INTERNAL, "internal error")


class ServerContextInterceptor(grpc.aio.ServerInterceptor):
    """Per unary RPC: the caller's ``x-request-id`` in the log context, :class:`ServiceError` (and a database
    that is down) turned into a status code with rich details instead of ``UNKNOWN``, and latency recorded."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not handler.unary_unary:
            return handler
        method: str = handler_call_details.method
        request_id = _metadata_value(handler_call_details, REQUEST_ID_HEADER)

        def wrap(behavior: Behavior) -> Behavior:
            async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
                token = request_id_var.set(request_id)
                started = time.perf_counter()
                code = grpc.StatusCode.OK
                try:
                    return await behavior(request, context)
                except ServiceError as error:
                    code = error.code
                    status = _status_of_exception(error)
                except Exception as error:
                    if isinstance(error, grpc.aio.AbortError):
                        code = context.code() or grpc.StatusCode.UNKNOWN
                        raise
                    status = _status_of_exception(error)
                    code = status.code
                finally:
                    RPC_LATENCY.labels(method, code.name).observe(time.perf_counter() - started)
                    request_id_var.reset(token)
                await context.abort(status.code, status.details, status.trailing_metadata)

            return handle

        return _rewrap(handler, wrap)


def call_metadata(internal_key: str) -> tuple[tuple[str, str], ...]:
    """The metadata every internal call carries: the internal key and the current correlation id."""
    request_id = request_id_var.get()
    if request_id:
        return ((INTERNAL_KEY_HEADER, internal_key), (REQUEST_ID_HEADER, request_id))
    return ((INTERNAL_KEY_HEADER, internal_key),)


class InternalKeyClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the internal key and the current correlation id to every unary call."""

    def __init__(self, internal_key: str) -> None:
        self._key = internal_key

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = list(client_call_details.metadata or ())
        metadata.extend(call_metadata(self._key))
        return await continuation(client_call_details._replace(metadata=metadata), request)
