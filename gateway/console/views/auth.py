"""Signing in with an API key (the operator's or an application's), signing out, and the audit log page.

The sign-in form is guarded by a double-submit token (a cookie and a hidden field) since there is no session
yet; the key is checked by asking the API ``GET /v1/auth/whoami`` with it."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import SIGN_IN_PROBE, call_api
from gateway.console.sessions import COOKIE, IDLE_SECONDS
from gateway.console.web import NAVIGATION, SessionDep, allowed, console_state, form, page, redirect

router = APIRouter()
SIGN_IN_COOKIE = "console_sign_in"


def _safe_next(target: str) -> str:
    """Where to go after signing in: a console path only, never another site."""
    return target if target.startswith("/console/") and not target.startswith("/console//") else "/console/"


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", None, token=token, next=_safe_next(request.query_params.get("next", "")))
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600, path="/console/sign-in")
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (fields.get("csrf_token") or [""])[0]
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    next_path = _safe_next((fields.get("next") or [""])[0])
    if not token or not hmac.compare_digest(token.encode(), cookie.encode()):
        return redirect("/console/sign-in", "The sign-in form expired: try again.")
    api_key = (fields.get("api_key") or [""])[0].strip()
    state = console_state(request)
    reply = await call_api(state.http, api_key, "GET", SIGN_IN_PROBE) if api_key else None
    if reply is None or not reply.ok or reply.body.get("application_id") is None:
        retry = secrets.token_urlsafe(32)
        response = page(
            request, "sign_in.html", None, status_code=401, token=retry, next=next_path, error="That key is not valid."
        )
        _set_cookie(request, response, SIGN_IN_COOKIE, retry, max_age=3600, path="/console/sign-in")
        return response
    session = await state.sessions.create(api_key, reply.body)
    if next_path == "/console/":  # the first page the key may see
        next_path = next(path for _, _, path, need in NAVIGATION if allowed(session, need))
    signed_in = redirect(next_path)
    _set_cookie(request, signed_in, COOKIE, session.session_id, max_age=IDLE_SECONDS, path="/console")
    signed_in.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
    return signed_in


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep) -> Response:
    await form(request, session)
    await console_state(request).sessions.end(session.session_id)
    response = redirect("/console/sign-in", "Signed out.")
    response.delete_cookie(COOKIE, path="/console")
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int, path: str) -> None:
    """An HttpOnly, SameSite=Strict cookie, Secure in production."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=console_state(request).secure_cookie,
    )
