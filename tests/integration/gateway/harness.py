"""A real gateway in-process for tests: the app with its lifespan (real Redis, Postgres, RabbitMQ and gRPC
channels) behind an httpx client, with settings on the test infrastructure."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from common.applications import DEFAULT_APPLICATION_ID
from devstack.infra import Infra
from gateway.app import create_app
from gateway.resources import Resources
from gateway.settings import GatewaySettings
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import INTERNAL_KEY as USER_SVC_KEY
from tests.support.user_service import JWT_SECRET, RunningUserService

API_KEY = "gateway-test-key"
"""A key of ``GATEWAY_API_KEYS``: the default application's."""
DEFAULT_APPLICATION = str(DEFAULT_APPLICATION_ID)
"""The application of the keys of ``GATEWAY_API_KEYS``, as the caches and Redis keys name it."""
OTHER_API_KEY = "gateway-other-test-key"
ADMIN_API_KEY = "gateway-test-operator-key-of-32-bytes-or-more"
UNREACHABLE = "127.0.0.1:1"

EMAIL = {
    "slug": "welcome",
    "channel": "email",
    "locale": "en",
    "subject": "Welcome, {{ user.name }}",
    "body": "Hello {{ name }}, start at {{ link }} ({{ user.locale }})",
}
EMAIL_PT = {**EMAIL, "locale": "pt", "subject": "Bem-vinda, {{ user.name }}", "body": "Olá {{ name }}: {{ link }}"}
PUSH = {
    "slug": "welcome",
    "channel": "push",
    "locale": "en",
    "title": "Hi {{ user.name }}",
    "body": "{{ name }} is here",
}
VARIABLES = {"name": "Ada", "link": "https://example.com/start"}


def gateway_settings(
    infra: Infra,
    *,
    users: RunningUserService | None = None,
    templates: RunningTemplateService | None = None,
    **overrides: Any,
) -> GatewaySettings:
    """Settings on the test infrastructure, in front of the running ``users`` and ``templates`` services (a
    service not given is unreachable); ``overrides`` are field names (``rate_limit_user_per_minute=2``)."""
    values: dict[str, Any] = {
        "database_url": infra.database("NOTIFICATIONS_DATABASE_URL"),
        "redis_url": infra.redis_url,
        "rabbitmq_url": infra.rabbitmq_url,
        "api_keys": f"{API_KEY},{OTHER_API_KEY}",
        "admin_api_key": ADMIN_API_KEY,
        "jwt_secret": JWT_SECRET,
        "user_service_url": users.target if users else UNREACHABLE,
        "user_service_internal_api_key": USER_SVC_KEY,
        "template_service_url": templates.target if templates else UNREACHABLE,
        "template_service_internal_api_key": templates.settings.internal_api_key if templates else USER_SVC_KEY,
        "reconciler_interval_seconds": 0,
        "dead_letter_mover_enabled": False,  # failed.queue stays where worker tests look; tests start a mover
        "broadcast_interval_seconds": 0,  # a test fans out with resources.fan_out.drain()
        "profile_cache_seconds": 0,
        "published_flush_seconds": 0.02,
        "login_address_max_failures": 0,  # every in-process client is 127.0.0.1, across runs on one Redis
    }
    values.update(overrides)
    return GatewaySettings(**values)


@dataclass
class Gateway:
    """A running gateway: its app, shared resources and a client that sends the test API key."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings

    @property
    def resources(self) -> Resources:
        found: Resources = self.app.state.resources
        return found


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    """Start the app's lifespan and serve it to an httpx client (``X-API-Key`` set) until the block ends."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers={"X-API-Key": API_KEY}
        ) as client:
            yield Gateway(app=app, client=client, settings=settings)


def unique_email() -> str:
    return f"u-{uuid.uuid4().hex[:12]}@example.com"


async def create_user(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A new user through the gateway (with a unique email unless given)."""
    body = {"name": "Ada Lovelace", "email": unique_email(), "password": "correct horse battery", **fields}
    response = await client.post("/v1/users", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def upsert_templates(client: httpx.AsyncClient) -> None:
    """The templates the send tests use, created or brought back to this content."""
    for template in (EMAIL, EMAIL_PT, PUSH):
        response = await client.post("/v1/templates", json=template)
        if response.status_code == 409:
            params = {"channel": template["channel"], "locale": template["locale"]}
            current = (await client.get(f"/v1/templates/{template['slug']}", params=params)).json()
            if any(current[part] != template.get(part) for part in ("subject", "body", "title")):
                response = await client.put(f"/v1/templates/{template['slug']}", json=template)
            else:
                continue
        assert response.status_code in (200, 201), response.text
