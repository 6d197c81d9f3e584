"""Fixtures of the gateway's integration tests: a real user_svc, and a gateway in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway
from tests.support.infra import Infra
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings


@pytest.fixture(scope="session")
async def user_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    async with running_user_service(user_service_settings(infra)) as service:
        yield service


@pytest.fixture(scope="session")
async def gateway(infra: Infra, user_service: RunningUserService) -> AsyncIterator[Gateway]:
    async with running_gateway(gateway_settings(infra, users=user_service.target)) as running:
        yield running
