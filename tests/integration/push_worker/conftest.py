"""Fixtures for the push worker's tests: the local FCM server (one per session, reset for each test), a real
user_svc, the push deliverer, and firebase-admin's in-request retries without their backoff sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from firebase_admin import _http_client

from common.grpc.client import internal_channel
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2_grpc as pb_grpc
from push_worker.deliverer import PushDeliverer
from push_worker.devices import DeviceRegistry
from push_worker.fcm import FcmClient
from tests.integration.delivery.fixtures import db
from tests.integration.push_worker.helpers import PushGateway, Users
from tests.support.fcm_server import RunningFcmServer, fcm, fcm_server
from tests.support.user_service import INTERNAL_KEY, RunningUserService, running_user_service, user_service_settings

__all__ = ["db", "fcm", "fcm_server"]


@pytest.fixture
def gateway(db: asyncpg.Connection, amqp: AmqpSession) -> PushGateway:
    """Push rows and publishes as the gateway makes them (queues purged)."""
    return PushGateway(db, amqp.publisher)


@pytest.fixture
def fast_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """firebase-admin retries 500 and 503 answers 4 times, sleeping 0, 1, 2 and 4 s; the same retries without
    the sleeps keep a test that needs an UNAVAILABLE or INTERNAL to reach the worker fast."""
    monkeypatch.setattr(_http_client.DEFAULT_HTTPX_RETRY_CONFIG, "backoff_factor", 0)


@pytest.fixture(scope="session")
async def user_service(infra: Infra) -> AsyncIterator[RunningUserService]:
    """A real user_svc on the test database."""
    async with running_user_service(user_service_settings(infra)) as service:
        yield service


@pytest.fixture
async def users(user_service: RunningUserService) -> AsyncIterator[Users]:
    """A client of user_svc to create users with devices and read their devices back."""
    channel = internal_channel(user_service.target, INTERNAL_KEY)
    yield Users(pb_grpc.UserServiceStub(channel))
    await channel.close()


@pytest.fixture
async def deliverer(fcm: RunningFcmServer, user_service: RunningUserService) -> AsyncIterator[PushDeliverer]:
    """The push deliverer against the FCM server and user_svc."""
    devices = DeviceRegistry(user_service.target, INTERNAL_KEY)
    deliverer = PushDeliverer(FcmClient(str(fcm.credentials_path), fcm.url), devices)
    yield deliverer
    await deliverer.close()
