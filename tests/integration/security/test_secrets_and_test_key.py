"""Finding 5 (issue 14): production refuses a short ``JWT_SECRET``; a database error never quotes the
statement's parameters (a password hash, an email); the email worker's ``POST /test-email`` takes its own
operator key in ``X-Test-Key``, not the mesh-wide internal key, and is off (404) without one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from common.applications import DEFAULT_APPLICATION_ID
from common.db import create_engine
from common.settings import SettingsError, load_settings
from delivery.http import worker_app
from devstack.infra import Infra
from email_worker import http as email_http
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpSender
from gateway.settings import GatewaySettings
from tests.support.smtp_sink import RunningSmtpSink, running_smtp_sink
from user_svc.repository import NewUser, UserRepository
from user_svc.settings import UserServiceSettings

MESH_KEY = "the-mesh-wide-internal-key"
TEST_KEY = "the-email-operator-test-key"


@pytest.mark.parametrize("settings_class", [UserServiceSettings, GatewaySettings])
def test_production_refuses_a_jwt_secret_under_32_bytes(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[UserServiceSettings | GatewaySettings]
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INTERNAL_API_KEY", "a-real-internal-key")
    monkeypatch.setenv("GATEWAY_API_KEYS", "a-real-api-key")
    monkeypatch.setenv("GATEWAY_ADMIN_API_KEY", "a-real-operator-key-of-at-least-32-bytes")
    monkeypatch.setenv("DKIM_KEY_SECRET", "a-real-dkim-key-secret-of-at-least-32-bytes")
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEYS", "k1:" + "u" * 32)
    monkeypatch.setenv("JWT_SECRET", "x" * 31)
    with pytest.raises(SettingsError, match="JWT_SECRET must be at least 32 bytes"):
        load_settings(settings_class)
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    assert load_settings(settings_class).jwt_secret == "x" * 32


def test_dev_keeps_its_short_documented_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert load_settings(UserServiceSettings).jwt_secret


async def test_a_database_error_does_not_quote_the_hash_or_the_email(infra: Infra) -> None:
    engine = create_engine(infra.database("USER_SVC_DATABASE_URL"), pool_size=1)
    email = f"leak-{uuid.uuid4().hex}@example.com"
    password_hash = "$argon2id$v=19$m=1024,t=1,p=1$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2g"
    unexpected = NewUser(
        id=uuid.uuid4(),
        application_id=DEFAULT_APPLICATION_ID,
        name="NUL \x00 in a name",  # PostgreSQL refuses it: an error the repository does not expect
        email=email,
        locale="en",
        password_hash=password_hash,
        email_enabled=True,
        push_enabled=True,
    )
    try:
        with pytest.raises(DBAPIError) as raised:
            await UserRepository(engine).create(unexpected)
    finally:
        await engine.dispose()
    message = str(raised.value)
    assert "hidden" in message
    assert email not in message
    assert "$argon2" not in message


@pytest.fixture(scope="module")
async def sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSmtpSink]:
    async with running_smtp_sink(tmp_path_factory.mktemp("test-key-mail")) as running:
        yield running


def worker_http(sink: RunningSmtpSink, **environment: str) -> httpx.AsyncClient:
    """A client of an email worker's HTTP side, built as ``python -m email_worker`` builds it."""
    settings = EmailWorkerSettings(smtp_host="127.0.0.1", smtp_port=sink.smtp_port, **environment)

    async def readiness() -> dict[str, bool]:
        return {}

    app = worker_app(
        service="email_worker",
        readiness=readiness,
        routers=[email_http.test_email_router(SmtpSender(settings, settings.relays[0]), settings)],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker")


async def test_test_email_takes_its_own_key_not_the_internal_one(sink: RunningSmtpSink) -> None:
    body = {"to": "ops-key@example.com"}
    async with worker_http(sink, test_key=TEST_KEY) as http:
        with_mesh_key = await http.post("/test-email", json=body, headers={"X-Internal-API-Key": MESH_KEY})
        assert with_mesh_key.status_code == 401
        assert with_mesh_key.headers["content-type"] == "application/problem+json"
        assert "X-Test-Key" in with_mesh_key.json()["detail"]
        assert (await http.post("/test-email", json=body, headers={"X-Test-Key": MESH_KEY})).status_code == 401
        sent = await http.post("/test-email", json=body, headers={"X-Test-Key": TEST_KEY})
        assert sent.status_code == 200, sent.text
    assert len(await sink.messages("ops-key@example.com")) == 1


async def test_test_email_is_off_without_a_key(sink: RunningSmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMAIL_WORKER_TEST_KEY", raising=False)
    async with worker_http(sink) as http:
        for headers in ({"X-Internal-API-Key": MESH_KEY}, {"X-Test-Key": ""}, {}):
            response = await http.post("/test-email", json={"to": "ops-off@example.com"}, headers=headers)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
    assert await sink.messages("ops-off@example.com") == []


def test_production_refuses_the_dev_test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("BOUNCE_SIGNING_KEY", "a-real-bounce-signing-key-of-32-bytes")
    monkeypatch.setenv("DKIM_KEY_SECRET", "a-real-dkim-key-secret-of-at-least-32-bytes")
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEYS", "k1:" + "u" * 32)
    monkeypatch.setenv("EMAIL_WORKER_TEST_KEY", "dev-email-test-key")
    with pytest.raises(SettingsError, match="EMAIL_WORKER_TEST_KEY"):
        load_settings(EmailWorkerSettings)
    monkeypatch.delenv("EMAIL_WORKER_TEST_KEY")
    assert load_settings(EmailWorkerSettings).test_key == ""
