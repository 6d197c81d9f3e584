"""Liveness, readiness and metrics: no credentials needed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from common.metrics import exposition
from gateway.deps import ResourcesDep
from gateway.errors import problem_response
from gateway.partition_maintenance import partitions_ready
from gateway.routes.docs import problems

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT = 1.0


@router.get(
    "/health", summary="Liveness", responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}}
)
async def health() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


async def _check(probe: Awaitable[Any]) -> bool:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception:
        return False
    return result is not False


@router.get(
    "/ready",
    summary="Readiness",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "checks": {
                            "redis": "ok",
                            "rabbitmq": "ok",
                            "postgres": "ok",
                            "partitions": "ok",
                            "user_svc": "ok",
                            "template_svc": "ok",
                        },
                    }
                }
            }
        },
        **problems(503, descriptions={503: "A dependency is down; `checks` says which."}),
    },
)
async def ready(resources: ResourcesDep) -> Response:
    """200 when Redis, RabbitMQ, Postgres, user_svc and template_svc answer and the notification tables have their
    partitions for the months ahead, else 503 naming what is down."""

    async def rabbitmq() -> bool:
        return not resources.amqp.is_closed and resources.amqp.connected.is_set()  # not while reconnecting

    redis_ok, rabbit_ok, postgres_ok, partitions_ok, serving = await asyncio.gather(
        _check(resources.redis.ping()),
        _check(rabbitmq()),
        _check(resources.store.ping()),
        _check(partitions_ready(resources.db)),
        resources.backends.serving(),
    )
    checks = {"redis": redis_ok, "rabbitmq": rabbit_ok, "postgres": postgres_ok, "partitions": partitions_ok, **serving}
    named = {name: "ok" if ok else "down" for name, ok in checks.items()}
    down = [name for name, ok in checks.items() if not ok]
    if down:
        return problem_response(503, "not ready: " + ", ".join(down) + " down", "/ready", extra={"checks": named})
    return Response(orjson.dumps({"status": "ready", "checks": named}), media_type="application/json")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format."}
    },
)
async def metrics() -> Response:
    """Request latency by route and status, notifications accepted and skipped by channel, and more."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)
