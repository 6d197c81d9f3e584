"""The audit log page: the console's writes, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from gateway.console.web import SessionDep, console_state, page

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(request: Request, session: SessionDep, before: str | None = None) -> HTMLResponse:
    entries, cursor = await console_state(request).audit.recent(100, before)
    if not session.admin:  # an application's key sees its own application's writes only
        mine = str(session.identity.get("application_id"))
        entries = [entry for entry in entries if entry.application_id == mine]
    return page(request, "audit.html", session, active="audit", entries=entries, cursor=cursor)
