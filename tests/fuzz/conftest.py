"""Fixtures of the fuzz suites: a real user_svc and template_svc, and the gateway served over HTTP in front."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from devstack.infra import Infra
from tests.fuzz.served import ServedGateway, served_gateway
from tests.integration.gateway.harness import API_KEY, create_user, gateway_settings, upsert_templates
from tests.support.template_service import RunningTemplateService, running_template_service, template_service_settings
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings


@pytest.fixture(scope="package")
async def fuzz_user_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    async with running_user_service(user_service_settings(infra)) as service:
        yield service


@pytest.fixture(scope="package")
async def fuzz_template_service(infra: Infra) -> AsyncIterator[RunningTemplateService]:
    async with running_template_service(template_service_settings(infra)) as service:
        yield service


@pytest.fixture(scope="package")
async def served(
    infra: Infra, fuzz_user_service: RunningUserService, fuzz_template_service: RunningTemplateService
) -> AsyncIterator[ServedGateway]:
    """The gateway on a free port with the test API key, in front of the two services."""
    settings = gateway_settings(
        infra,
        users=fuzz_user_service,
        templates=fuzz_template_service,
    )
    async with served_gateway(settings) as gateway:
        yield gateway


@pytest.fixture
async def http(served: ServedGateway) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the served gateway that sends the test API key."""
    async with httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": API_KEY}, timeout=10) as client:
        yield client


@pytest.fixture(scope="package")
async def recipient(served: ServedGateway) -> str:
    """The id of a user with the ``welcome`` templates (email en/pt, push) in place, to send to."""
    async with httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": API_KEY}, timeout=10) as client:
        await upsert_templates(client)
        return str((await create_user(client))["id"])
