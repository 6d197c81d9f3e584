"""The HTTP side of a worker (docs/design.md §3, §5): ``GET /`` (what this is), ``/health`` (the process runs),
``/ready`` (each dependency answers: 200, else 503 naming which is down) and ``/metrics`` (Prometheus), plus
any routers the worker adds (the email worker's ``POST /test-email``). Errors are ``application/problem+json``
like the gateway's (docs/design.md §3 REST)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.log import request_id_var
from common.metrics import exposition

Readiness = Callable[[], Awaitable[dict[str, bool]]]
PROBLEM_JSON = "application/problem+json"


class HttpProblem(Exception):
    """An error a worker's HTTP route answers as a problem+json body with ``status``; ``extra`` adds members
    (e.g. an SMTP reply); the gateway's own errors are ``gateway.errors.ProblemError``."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem body."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id_var.get() or request.headers.get("x-request-id"),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def key_check(header: str, expected: str) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that requires the request header ``header`` to equal ``expected`` (constant time)."""

    async def check(key: str | None = Header(default=None, alias=header)) -> None:
        if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
            raise HttpProblem(401, "Unauthorized", f"a valid {header} header is required")

    return check


def worker_app(*, service: str, readiness: Readiness, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The worker's FastAPI app: the standard endpoints, then ``routers``."""
    app = FastAPI(title=service, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HttpProblem)
    async def _problem(request: Request, error: HttpProblem) -> JSONResponse:
        return problem_response(request, error.status, error.title, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(part) for part in item["loc"][1:]) or "body", "message": item["msg"]}
            for item in error.errors()
        ]
        return problem_response(request, 422, "Unprocessable Content", "the request body is invalid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, error.status_code, str(error.detail), str(error.detail))

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"service": service, "status": "ok", "endpoints": ["/health", "/ready", "/metrics"]}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    return app
