"""The console application, mounted in the gateway at ``/console``: its pages, its static files (htmx is
vendored under ``static/``, no CDN), and the answers to a missing session (the sign-in page) and a refused form."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from common.settings import AppEnv
from gateway.console.audit import AuditLog
from gateway.console.sessions import SessionStore, session_cipher
from gateway.console.views import (
    applications,
    audit,
    auth,
    dead_letters,
    notifications,
    overview,
    suppressions,
    templates,
    topics,
    webhooks,
)
from gateway.console.web import HERE, ConsoleState, Forbidden, SignInRequired, page, redirect
from gateway.settings import GatewaySettings

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def create_console(api: FastAPI, settings: GatewaySettings) -> FastAPI:
    """The console for the gateway ``api``: it calls ``api`` in process and keeps sessions in its Redis."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://gateway.internal", timeout=30)

    @console.middleware("http")
    async def attach(request: Request, call_next):  # type: ignore[no-untyped-def]
        if not hasattr(console.state, "console"):  # the gateway's lifespan has opened Redis by the first request
            redis = api.state.resources.redis
            console.state.console = ConsoleState(
                sessions=SessionStore(redis, session_cipher(settings.jwt_secret)),
                audit=AuditLog(redis),
                http=http,
                secure_cookie=settings.app_env == AppEnv.PRODUCTION,
            )
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @console.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        if request.headers.get("hx-request"):  # an htmx fragment: send the whole page to the sign-in form
            return Response(status_code=204, headers={"HX-Redirect": "/console/sign-in"})
        return redirect(f"/console/sign-in?next={quote(error.next_path)}")

    @console.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> HTMLResponse:
        return page(request, "error.html", None, status_code=403, title="Not allowed", message=str(error))

    for module in (
        auth,
        audit,
        overview,
        notifications,
        templates,
        dead_letters,
        webhooks,
        topics,
        suppressions,
        applications,
    ):
        console.include_router(module.router)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return console
