"""``GET /v1/stats``: the console's overview in one read (docs/api.md "Stats")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from gateway.auth import Caller
from gateway.deps import ResourcesDep, confined_to, requires
from gateway.errors import ProblemError
from gateway.routes.docs import AUTHENTICATED, problems
from gateway.schemas.stats import StatsBody
from gateway.scopes import Scope
from gateway.stats import WINDOW_PATTERN, parse_window

router = APIRouter(prefix="/v1/stats", tags=["operations"])


@router.get(
    "", response_model=StatsBody, summary="Rates, queues, breakers, dead letters", responses=problems(*AUTHENTICATED)
)
async def stats(
    request: Request,
    caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)],
    resources: ResourcesDep,
    window: Annotated[
        str, Query(max_length=5, pattern=WINDOW_PATTERN, description="`15m`, `1h`, ... up to `24h`.")
    ] = "1h",
) -> Response:
    """Per minute of `window`: notifications accepted, delivered, failed and skipped by channel; the queue
    depths; the workers' breaker states; the dead letters waiting. The application's own counts (the operator's
    key without `X-Application-Id`: every application's); cached for a few seconds."""
    duration = parse_window(window)
    if duration is None:
        raise ProblemError.field("window", "at most 24h")
    body = await resources.stats.read(confined_to(caller, request), window, duration)
    return Response(body, media_type="application/json")
