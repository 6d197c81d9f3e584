"""Suppressions: the addresses the application no longer emails, adding one by hand and removing one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, field, form, page, redirect, require

router = APIRouter()


@router.get("/suppressions", response_class=HTMLResponse)
async def suppression_list(
    request: Request, session: SessionDep, api: ApiDep, reason: str = "", cursor: str = ""
) -> Response:
    require(session, "suppressions:manage")
    reply = await api.get("/v1/suppressions", reason=reason, limit=100, cursor=cursor)
    return page(
        request,
        "suppressions.html",
        session,
        active="suppressions",
        reply=reply,
        reason=reason,
        items=reply.body.get("items", []) if reply.ok else [],
    )


@router.post("/suppressions")
async def add(request: Request, session: SessionDep, api: ApiDep) -> Response:
    fields = await form(request, session)
    require(session, "suppressions:manage")
    address = field(fields, "address")
    reply = await api.write(
        "POST",
        "/v1/suppressions",
        action="suppression.add",
        target=address,
        json={"address": address, "reason": "manual"},
    )
    return redirect("/console/suppressions", f"{address} suppressed." if reply.ok else f"Not added: {reply.problem}")


@router.post("/suppressions/remove")
async def remove(request: Request, session: SessionDep, api: ApiDep) -> Response:
    fields = await form(request, session)
    require(session, "suppressions:manage")
    address = field(fields, "address")
    reply = await api.write(
        "DELETE", f"/v1/suppressions/{segment(address)}", action="suppression.remove", target=address
    )
    return redirect("/console/suppressions", f"{address} removed." if reply.ok else f"Not removed: {reply.problem}")
