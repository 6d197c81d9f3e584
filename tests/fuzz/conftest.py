"""Fixtures of the fuzz suites: a real user_svc and template_svc, and the gateway served over HTTP in front."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from devstack.infra import Infra
from gateway.scopes import ALL_SCOPES
from tests.fuzz.served import ServedGateway, served_gateway
from tests.integration.gateway.harness import ADMIN_API_KEY, create_user, gateway_settings, upsert_templates
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
async def http(served: ServedGateway, fuzz_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the served gateway in the fuzzing's application."""
    async with httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": fuzz_key}, timeout=10) as client:
        yield client


async def application_key(served: ServedGateway, name: str) -> str:
    """A key with every scope in a new application of its own."""
    async with httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": ADMIN_API_KEY}, timeout=10) as admin:
        created = await admin.post("/v1/applications", json={"name": f"{name}-{uuid.uuid4().hex[:8]}"})
        assert created.status_code == 201, created.text
        keys = f"/v1/applications/{created.json()['id']}/keys"
        key = await admin.post(keys, json={"name": name, "scopes": sorted(ALL_SCOPES)})
        assert key.status_code == 201, key.text
    return str(key.json()["key"])


@pytest.fixture(scope="package")
async def fuzz_key(served: ServedGateway) -> str:
    """The fuzz suites' key, in an application of their own: what they write never reaches the default
    application the other suites send in."""
    return await application_key(served, "fuzz")


@pytest.fixture(scope="package")
async def schemathesis_key(served: ServedGateway) -> str:
    """schemathesis's key, in yet another application: its stateful phase deletes what it can list, so it must
    not see the recipient and templates the other fuzz suites rely on."""
    return await application_key(served, "schemathesis")


@pytest.fixture(scope="package")
async def recipient(served: ServedGateway, fuzz_key: str) -> str:
    """The id of a user of the fuzzing's application with the ``welcome`` templates (email en/pt, push) in
    place, to send to."""
    async with httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": fuzz_key}, timeout=10) as client:
        await upsert_templates(client)
        return str((await create_user(client))["id"])
