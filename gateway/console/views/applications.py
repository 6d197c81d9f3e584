"""Applications and their keys (the operator's key only): create an application, create a key (its secret is
shown this once, on the answer page, and never stored by the console), revoke a key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, console_state, failure, field, form, page, redirect, require
from gateway.scopes import ALL_SCOPES

router = APIRouter()
SCOPES = sorted(ALL_SCOPES)


@router.get("/applications", response_class=HTMLResponse)
async def application_list(request: Request, session: SessionDep, api: ApiDep, cursor: str = "") -> Response:
    require(session, "admin")
    reply = await api.get("/v1/applications", limit=100, cursor=cursor)
    return page(
        request, "applications.html", session, active="applications", reply=reply, items=reply.body.get("items", [])
    )


@router.post("/applications")
async def create_application(request: Request, session: SessionDep, api: ApiDep) -> Response:
    fields = await form(request, session)
    require(session, "admin")
    name = field(fields, "name")
    reply = await api.write("POST", "/v1/applications", action="application.create", target=name, json={"name": name})
    if not reply.ok:
        return redirect("/console/applications", f"Not created: {reply.problem}")
    return redirect(f"/console/applications/{reply.body['id']}", "Application created.")


@router.get("/applications/{application_id}", response_class=HTMLResponse)
async def application_detail(request: Request, application_id: str, session: SessionDep, api: ApiDep) -> Response:
    require(session, "admin")
    found = await api.get(f"/v1/applications/{segment(application_id)}")
    if not found.ok:
        return failure(request, session, found, "Application")
    keys = await api.get(f"/v1/applications/{segment(application_id)}/keys")
    return page(
        request,
        "application.html",
        session,
        active="applications",
        application=found.body,
        keys=keys.body.get("items", []) if keys.ok else [],
        scopes=SCOPES,
    )


@router.post("/applications/{application_id}/keys", response_class=HTMLResponse)
async def create_key(request: Request, application_id: str, session: SessionDep, api: ApiDep) -> Response:
    """Create a key and show its secret once, on this answer (never on a page that can be fetched again)."""
    fields = await form(request, session)
    require(session, "admin")
    body = {
        "name": field(fields, "name"),
        "scopes": [scope for scope in fields.get("scopes", []) if scope in ALL_SCOPES],
        "mode": field(fields, "mode", "live"),
    }
    reply = await api.write(
        "POST",
        f"/v1/applications/{segment(application_id)}/keys",
        action="key.create",
        target=f"{application_id} {body['name']}",
        json=body,
    )
    if not reply.ok:
        return redirect(f"/console/applications/{segment(application_id)}", f"Not created: {reply.problem}")
    return page(
        request, "key_created.html", session, active="applications", application_id=application_id, key=reply.body
    )


@router.post("/applications/{application_id}/act")
async def act_in(request: Request, application_id: str, session: SessionDep, api: ApiDep) -> Response:
    """Make the operator's session act in this application: every page then shows and changes its data."""
    await form(request, session)
    require(session, "admin")
    found = await api.get(f"/v1/applications/{segment(application_id)}")
    if not found.ok:
        return failure(request, session, found, "Application")
    await console_state(request).sessions.act_in(session, str(found.body["id"]))
    return redirect("/console/", f"Now acting in {found.body['name']}.")


@router.post("/applications/{application_id}/keys/{key_id}/revoke")
async def revoke_key(request: Request, application_id: str, key_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "admin")
    reply = await api.write(
        "DELETE",
        f"/v1/applications/{segment(application_id)}/keys/{segment(key_id)}",
        action="key.revoke",
        target=f"{application_id} {key_id}",
    )
    message = f"Key {key_id} revoked." if reply.ok else f"Not revoked: {reply.problem}"
    return redirect(f"/console/applications/{segment(application_id)}", message)
