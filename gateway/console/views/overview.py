"""The overview: the last hour per minute as charts, queue depths, breaker states and dead letters waiting,
from ``GET /v1/stats``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.charts import column_chart
from gateway.console.stats import read_overview
from gateway.console.web import ApiDep, SessionDep, page, redirect, require

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, session: SessionDep, api: ApiDep) -> Response:
    if not session.can("notifications:read"):
        return redirect("/console/audit")
    require(session, "notifications:read")
    reply = await api.get("/v1/stats", window="1h")
    view = read_overview(reply.body) if reply.ok else None
    charts = [(s, column_chart(s, s.name)) for s in view.series] if view else []
    return page(request, "overview.html", session, active="overview", reply=reply, view=view, charts=charts)
