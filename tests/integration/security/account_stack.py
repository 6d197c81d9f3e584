"""A gateway in process in front of a real user_svc and template_svc, for the account findings of issue 14:
the settings a test needs (a small per-user limit, a profile cache) without restarting the whole stack."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from devstack.infra import Infra
from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway, upsert_templates
from tests.support.template_service import RunningTemplateService, running_template_service, template_service_settings
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings

PASSWORD = "correct horse battery"


@dataclass
class AccountStack:
    """The running services and the gateway in front of them."""

    users: RunningUserService
    templates: RunningTemplateService
    gateway: Gateway


@contextlib.asynccontextmanager
async def running_account_stack(infra: Infra, **gateway_overrides: Any) -> AsyncIterator[AccountStack]:
    """user_svc, template_svc (with the ``welcome`` templates) and a gateway with ``gateway_overrides``."""
    async with (
        running_user_service(user_service_settings(infra)) as users,
        running_template_service(template_service_settings(infra)) as templates,
        running_gateway(gateway_settings(infra, users=users, templates=templates, **gateway_overrides)) as gateway,
    ):
        await upsert_templates(gateway.client)
        yield AccountStack(users, templates, gateway)


@contextlib.asynccontextmanager
async def another_gateway(infra: Infra, stack: AccountStack, **overrides: Any) -> AsyncIterator[Gateway]:
    """A second gateway replica in front of the same services."""
    settings = gateway_settings(infra, users=stack.users, templates=stack.templates, **overrides)
    async with running_gateway(settings) as gateway:
        yield gateway


async def login(gateway: Gateway, email: str, password: str = PASSWORD) -> dict[str, str]:
    """The headers of a request made with the user's own token (and no API key)."""
    response = await gateway.client.post(
        "/v1/auth/login", json={"email": email, "password": password}, headers={"X-API-Key": ""}
    )
    assert response.status_code == 200, response.text
    return {"X-API-Key": "", "Authorization": f"Bearer {response.json()['access_token']}"}
