"""Webhooks: the endpoints, one endpoint's deliveries, and retrying a delivery."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, failure, form, page, redirect, require

router = APIRouter()


@router.get("/webhooks", response_class=HTMLResponse)
async def webhook_list(request: Request, session: SessionDep, api: ApiDep, cursor: str = "") -> Response:
    require(session, "webhooks:manage")
    reply = await api.get("/v1/webhooks", limit=100, cursor=cursor)
    return page(request, "webhooks.html", session, active="webhooks", reply=reply, items=reply.body.get("items", []))


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
async def webhook_detail(
    request: Request, webhook_id: str, session: SessionDep, api: ApiDep, status: str = "", cursor: str = ""
) -> Response:
    require(session, "webhooks:manage")
    found = await api.get(f"/v1/webhooks/{segment(webhook_id)}")
    if not found.ok:
        return failure(request, session, found, "Webhook")
    deliveries = await api.get(f"/v1/webhooks/{segment(webhook_id)}/deliveries", status=status, limit=50, cursor=cursor)
    return page(
        request,
        "webhook.html",
        session,
        active="webhooks",
        webhook=found.body,
        status=status,
        deliveries=deliveries,
        items=deliveries.body.get("items", []) if deliveries.ok else [],
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def retry(request: Request, webhook_id: str, delivery_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "webhooks:manage")
    reply = await api.write(
        "POST",
        f"/v1/webhooks/{segment(webhook_id)}/deliveries/{segment(delivery_id)}/retry",
        action="webhook.delivery.retry",
        target=f"{webhook_id} {delivery_id}",
    )
    message = "Retry queued." if reply.ok else f"Not retried: {reply.problem}"
    return redirect(f"/console/webhooks/{segment(webhook_id)}", message)
