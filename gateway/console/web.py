"""What every console page shares: the signed-in session as a dependency (no session: to the sign-in page),
its API client, form bodies with their CSRF token checked, and the page renderer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

import httpx
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse

from gateway.console.audit import AuditLog
from gateway.console.client import ApiClient, ApiReply
from gateway.console.sessions import COOKIE, Session, SessionStore

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

NAVIGATION = [
    ("overview", "Overview", "/console/", "notifications:read"),
    ("notifications", "Notifications", "/console/notifications", "notifications:read"),
    ("templates", "Templates", "/console/templates", "templates:read"),
    ("dead-letters", "Dead letters", "/console/dead-letters", "notifications:read"),
    ("webhooks", "Webhooks", "/console/webhooks", "webhooks:manage"),
    ("topics", "Topics and broadcasts", "/console/topics", "notifications:read"),
    ("suppressions", "Suppressions", "/console/suppressions", "suppressions:manage"),
    ("applications", "Applications and keys", "/console/applications", "admin"),
    ("audit", "Audit log", "/console/audit", ""),
]
"""The pages: (id, label, path, what the key needs: a scope, ``admin``, or nothing)."""


@dataclass(frozen=True, slots=True)
class ConsoleState:
    """What the console app keeps: the sessions, the audit log and the in-process API transport."""

    sessions: SessionStore
    audit: AuditLog
    http: httpx.AsyncClient
    secure_cookie: bool


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """The form's CSRF token is wrong, or the key may not do this."""


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


async def current_session(request: Request) -> Session:
    """The signed-in session; :class:`SignInRequired` without one."""
    session = await console_state(request).sessions.find(request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def api_client(request: Request, session: SessionDep) -> ApiClient:
    state = console_state(request)
    return ApiClient(state.http, session, state.audit)


ApiDep = Annotated[ApiClient, Depends(api_client)]


def allowed(session: Session, need: str) -> bool:
    """Whether ``session`` may use what needs ``need`` (a scope, ``admin``, or nothing)."""
    if not need:
        return True
    if need == "admin":
        return session.admin
    return session.can(need)


def require(session: Session, need: str) -> None:
    if not allowed(session, need):
        raise Forbidden(f"this key may not do that (it needs {need})")


async def form(request: Request, session: Session) -> dict[str, list[str]]:
    """The urlencoded form body, after its CSRF token is checked (:class:`Forbidden` when wrong)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    token = fields.get("csrf_token", [None])[0]
    if not session.csrf_valid(token):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
    return fields


def field(fields: dict[str, list[str]], name: str, default: str = "") -> str:
    """One form field's (first) value, stripped."""
    return (fields.get(name) or [default])[0].strip()


def page(
    request: Request, name: str, session: Session | None, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render the page template ``name`` with the navigation the key may use."""
    navigation = [item for item in NAVIGATION if session is not None and allowed(session, item[3])]
    flash = request.query_params.get("flash", "")
    return templates.TemplateResponse(
        request,
        name,
        {"session": session, "navigation": navigation, "flash": flash[:300], **context},
        status_code=status_code,
    )


def failure(request: Request, session: Session, reply: ApiReply, title: str) -> HTMLResponse:
    """The error page for an API answer that was not a success."""
    return page(request, "error.html", session, status_code=reply.status, title=title, message=reply.problem)


def redirect(path: str, flash: str = "") -> RedirectResponse:
    """A 303 to ``path`` (a console path), with a message the next page shows."""
    if flash:
        path += ("&" if "?" in path else "?") + "flash=" + quote(flash[:300])
    return RedirectResponse(path, status_code=303)
