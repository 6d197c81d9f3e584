"""Notifications: search (id, user, status, channel, template, time range, request id), a detail page with the
event timeline, and cancel where the API allows it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, failure, form, page, redirect, require

router = APIRouter()

SEARCH_FIELDS = ("user_id", "status", "channel", "template", "created_after", "created_before", "request_id")
STATUSES = (
    "scheduled", "queued", "sending", "retrying", "delivered", "failed", "skipped", "cancelled", "bounced",
)  # fmt: skip
CANCELLABLE = frozenset({"scheduled", "queued", "retrying"})


@router.get("/notifications", response_class=HTMLResponse)
async def search(request: Request, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    query = {name: request.query_params.get(name, "").strip() for name in (*SEARCH_FIELDS, "id", "cursor")}
    if query["id"]:
        return redirect(f"/console/notifications/{query['id']}")
    params = {name: query[name] for name in SEARCH_FIELDS}
    for bound in ("created_after", "created_before"):
        params[bound] = _utc(params[bound])
    reply = await api.get("/v1/notifications", limit=50, cursor=query["cursor"], **params)
    return page(
        request,
        "notifications.html",
        session,
        active="notifications",
        query=query,
        statuses=STATUSES,
        reply=reply,
        items=reply.body.get("items", []) if reply.ok else [],
    )


def _utc(value: str) -> str:
    """A time from ``<input type=datetime-local>`` (no zone, perhaps no seconds) as RFC 3339 in UTC; a value with
    a zone is passed as it is."""
    if not value or value.endswith(("Z", "z")) or "+" in value[10:] or value[10:].count("-"):
        return value
    return value + (":00Z" if len(value) == 16 else "Z")


@router.get("/notifications/{notification_id}", response_class=HTMLResponse)
async def detail(request: Request, notification_id: str, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    found = await api.get(f"/v1/notifications/{segment(notification_id)}")
    if not found.ok:
        return failure(request, session, found, "Notification")
    events = await api.get(f"/v1/notifications/{segment(notification_id)}/events")
    content = await api.get(f"/v1/notifications/{segment(notification_id)}/content")
    notification = found.body
    return page(
        request,
        "notification.html",
        session,
        active="notifications",
        n=notification,
        events=events.body.get("items", []) if events.ok else [],
        content=content.body if content.ok else None,
        cancellable=notification["status"] in CANCELLABLE and session.can("notifications:send"),
    )


@router.post("/notifications/{notification_id}/cancel")
async def cancel(request: Request, notification_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "notifications:send")
    reply = await api.write(
        "POST",
        f"/v1/notifications/{segment(notification_id)}/cancel",
        action="notification.cancel",
        target=notification_id,
    )
    message = "Cancelled." if reply.ok else f"Not cancelled: {reply.problem}"
    return redirect(f"/console/notifications/{notification_id}", message)
