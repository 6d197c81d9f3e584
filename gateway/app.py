"""The gateway's FastAPI application: routes, problem+json errors, the edge middleware, and a lifespan that
opens the shared resources once per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from common.heap import freeze_startup_heap
from common.log import configure_logging
from common.settings import load_settings
from gateway.errors import install_error_handlers
from gateway.middleware import EdgeMiddleware
from gateway.resources import Resources
from gateway.routes import auth, notifications, operations, templates, users
from gateway.routes.fast_send import FastSendRoute
from gateway.schemas.problems import Problem
from gateway.settings import GatewaySettings

DESCRIPTION = """The public REST edge of the notification system.

Applications authenticate with `X-API-Key`; end users with `Authorization: Bearer <token>` from
`POST /v1/auth/login`, and reach only their own user, preferences and devices. Every error is
`application/problem+json` (RFC 9457) with `request_id`, and `errors` for validation failures. Every
response carries `X-Request-ID`.
"""

TAGS = [
    {"name": "notifications", "description": "Send notifications and follow them."},
    {"name": "users", "description": "Users, their channel preferences and push devices."},
    {"name": "auth", "description": "End-user login."},
    {"name": "templates", "description": "Versioned, localised templates."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: GatewaySettings) -> FastAPI:
    """The application; its lifespan opens Redis, Postgres, RabbitMQ and the gRPC channels."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Resources.open(settings) as resources:
            app.state.resources = resources
            freeze_startup_heap()
            yield

    app = FastAPI(
        title="Notification gateway",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (notifications, users, auth, templates, operations):
        app.include_router(module.router)
    _serve_sends_directly(app)
    app.add_middleware(EdgeMiddleware)
    _document_problems(app)
    return app


def _serve_sends_directly(app: FastAPI) -> None:
    """Put :class:`FastSendRoute` in front of every route: the documented send route stays in the OpenAPI
    document and answers everything the fast route hands over."""
    app.router.routes.insert(0, FastSendRoute())


def _document_problems(app: FastAPI) -> None:
    """Put the Problem schema, which the routes' error responses refer to, into the OpenAPI components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(definitions.pop("$defs", {}))
            components["Problem"] = definitions
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_environment() -> FastAPI:
    """The application with settings from the environment and JSON logging: uvicorn's factory for workers."""
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    return create_app(settings)
