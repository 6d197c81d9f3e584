"""The gateway's FastAPI application: routes, problem+json errors, the edge middleware, and a lifespan that
opens the shared resources once per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.constants import REF_TEMPLATE
from starlette.responses import RedirectResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from common.heap import freeze_startup_heap
from common.log import configure_logging
from common.settings import load_settings
from gateway.console.app import create_console
from gateway.errors import install_error_handlers
from gateway.middleware import EdgeMiddleware
from gateway.resources import Resources
from gateway.routes import (
    applications,
    auth,
    broadcasts,
    categories,
    dead_letters,
    me,
    notifications,
    operations,
    problems,
    sending_domains,
    stats,
    suppressions,
    templates,
    topics,
    unsubscribe,
    users,
    webhook_events,
    webhooks,
)
from gateway.routes.docs import component_schema
from gateway.schemas.notifications import SendRequest, TopicSendRequest, TopicTarget
from gateway.schemas.problems import Problem
from gateway.settings import GatewaySettings

DESCRIPTION = """The public REST edge of the notification system.

Applications authenticate with `X-API-Key` (an issued `nk_` key, or one of `GATEWAY_API_KEYS`); the operator's
key manages applications and keys and acts in the application named by `X-Application-Id`; end users send
`Authorization: Bearer <token>` from `POST /v1/auth/login`, and reach only their own user, preferences and
devices. Every error is
`application/problem+json` (RFC 9457) with `request_id`, and `errors` for validation failures. Every
response carries `X-Request-ID`.
"""

TAGS = [
    {"name": "notifications", "description": "Send notifications and follow them."},
    {"name": "broadcasts", "description": "Topic sends: their fan-out, counters and cancel."},
    {"name": "users", "description": "Users, their channel preferences and push devices."},
    {"name": "auth", "description": "End-user login, and what a credential is."},
    {"name": "me", "description": "What a user's own token reads: their notifications."},
    {"name": "templates", "description": "Versioned, localised templates."},
    {"name": "unsubscribe", "description": "One-click unsubscribe links (RFC 8058); no credentials."},
    {"name": "categories", "description": "Kinds of notification users opt out of; `transactional` is built in."},
    {"name": "topics", "description": "Topics users subscribe to; a send to a topic reaches every subscriber."},
    {"name": "suppressions", "description": "Addresses the application no longer emails: bounces, complaints."},
    {"name": "sending domains", "description": "Domains templates send from, each with its DKIM key."},
    {"name": "webhooks", "description": "Endpoints the application's events are posted to, and their deliveries."},
    {"name": "applications", "description": "Applications and their API keys: the operator's key only."},
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
        webhooks=webhook_events.router,
    )
    install_error_handlers(app)
    for module in (
        notifications,
        broadcasts,
        users,
        auth,
        me,
        templates,
        categories,
        topics,
        suppressions,
        sending_domains,
        unsubscribe,
        dead_letters,
        applications,
        webhooks,
        operations,
        stats,
        problems,
    ):
        app.include_router(module.router)
    app.mount("/console", create_console(app, settings))
    app.add_route("/console", lambda _: RedirectResponse("/console/"), include_in_schema=False)
    app.add_middleware(EdgeMiddleware)
    if settings.trusted_proxy_list():  # outermost, so the access log and the login limits see the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list())
    _complete_openapi(app)
    return app


def _complete_openapi(app: FastAPI) -> None:
    """Put into the OpenAPI document what FastAPI does not collect: the bodies of the send route (to a user or to a
    topic), which reads its request itself (its ``openapi_extra`` refers to them), and the Problem schema of every
    error response."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            schemas = dict(components.get("schemas", {}))
            for model in (SendRequest, TopicSendRequest, TopicTarget):  # TopicTarget: the one TopicSendRequest nests
                schemas[model.__name__] = {k: v for k, v in component_schema(model).items() if k != "$defs"}
            components["schemas"] = dict(sorted(schemas.items()))  # sorted, as FastAPI writes them
            definitions = Problem.model_json_schema(ref_template=REF_TEMPLATE)
            components["schemas"].update(definitions.pop("$defs", {}))
            components["schemas"]["Problem"] = definitions
            for operations in schema["paths"].values():
                for operation in operations.values():  # FastAPI appends openapi_extra's keys after responses
                    operation["responses"] = operation.pop("responses")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_environment() -> FastAPI:
    """The application with settings from the environment and JSON logging: uvicorn's factory for workers."""
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    return create_app(settings)
