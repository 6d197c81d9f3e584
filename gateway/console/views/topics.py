"""Topics and broadcasts: the topics with their subscriber counts, the broadcasts, and one broadcast's
progress, which htmx polls every second while its fan-out runs (without JavaScript: reload the page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, allowed, failure, form, page, redirect, require, templates

router = APIRouter()
RUNNING = frozenset({"scheduled", "fanning_out"})


@router.get("/topics", response_class=HTMLResponse)
async def topics_and_broadcasts(request: Request, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    topics = await api.get("/v1/topics", limit=100) if allowed(session, "topics:manage") else None
    broadcasts = await api.get("/v1/broadcasts", limit=50)
    return page(
        request,
        "topics.html",
        session,
        active="topics",
        topics=topics.body.get("items", []) if topics is not None and topics.ok else None,
        broadcasts=broadcasts.body.get("items", []) if broadcasts.ok else [],
    )


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
async def broadcast(request: Request, broadcast_id: str, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    found = await api.get(f"/v1/broadcasts/{segment(broadcast_id)}")
    if not found.ok:
        return failure(request, session, found, "Broadcast")
    context = {"b": found.body, "running": found.body.get("state") in RUNNING}
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "_broadcast_progress.html", context)
    return page(
        request,
        "broadcast.html",
        session,
        active="topics",
        cancellable=context["running"] and session.can("notifications:send"),
        **context,
    )


@router.post("/broadcasts/{broadcast_id}/cancel")
async def cancel(request: Request, broadcast_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "notifications:send")
    reply = await api.write(
        "POST", f"/v1/broadcasts/{segment(broadcast_id)}/cancel", action="broadcast.cancel", target=broadcast_id
    )
    message = "Cancelling." if reply.ok else f"Not cancelled: {reply.problem}"
    return redirect(f"/console/broadcasts/{segment(broadcast_id)}", message)
