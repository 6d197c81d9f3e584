"""The security suite's stack: every service and both dev sinks as ``make up`` runs them, but with secrets of
its own (API key, JWT secret, internal key, SMTP password) so a test can look for them in every log line."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.infra import Infra
from devstack.stack import Stack, running_stack


@dataclass(frozen=True)
class StackSecrets:
    """The secret values the stack runs with; none may ever show in a log line or a response body."""

    api_key: str
    jwt_secret: str
    admin_key: str
    internal_key: str
    email_test_key: str
    bounce_signing_key: str
    dkim_key_secret: str
    smtp_username: str
    smtp_password: str
    user_password: str

    @classmethod
    def new(cls) -> StackSecrets:
        def token(name: str) -> str:
            return f"{name}-{secrets.token_hex(16)}"

        return cls(
            api_key=token("sec-api-key"),
            jwt_secret=f"sec-jwt-secret-{secrets.token_hex(32)}",
            admin_key=f"sec-admin-key-{secrets.token_hex(32)}",
            internal_key=token("sec-internal-key"),
            email_test_key=token("sec-email-test-key"),
            bounce_signing_key=token("sec-bounce-signing-key"),
            dkim_key_secret=token("sec-dkim-key-secret"),
            smtp_username="mailer",
            smtp_password=token("sec-smtp-password"),
            user_password=token("sec-user-password"),
        )

    def environment(self) -> dict[str, str]:
        return {
            "GATEWAY_API_KEYS": self.api_key,
            "JWT_SECRET": self.jwt_secret,
            "GATEWAY_ADMIN_API_KEY": self.admin_key,
            "INTERNAL_API_KEY": self.internal_key,
            "EMAIL_WORKER_TEST_KEY": self.email_test_key,
            "BOUNCE_SIGNING_KEY": self.bounce_signing_key,
            "DKIM_KEY_SECRET": self.dkim_key_secret,
            "SMTP_USERNAME": self.smtp_username,
            "SMTP_PASSWORD": self.smtp_password,
            "LOG_LEVEL": "DEBUG",
            "GATEWAY_LOGIN_ADDRESS_MAX_FAILURES": "0",  # every test run logs in from 127.0.0.1
        }


@dataclass(frozen=True)
class SecuredStack:
    """The running stack, its secrets, and a client of its gateway that sends the API key."""

    stack: Stack
    secrets: StackSecrets
    api: httpx.AsyncClient

    def service_account(self) -> dict[str, str]:
        """The FCM service account the push worker signs with (written by the stack's preparation)."""
        path = Path(self.stack.environment["GOOGLE_APPLICATION_CREDENTIALS"])
        account: dict[str, str] = json.loads(path.read_text())
        return account

    def logs(self) -> dict[str, str]:
        """Everything each process of the stack has printed so far, by file name."""
        folder = self.stack.folder / "logs"
        return {path.name: path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))}


@pytest.fixture(scope="package")
async def secured(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecuredStack]:
    """The stack in a vhost of its own (``<test vhost>_secured``), so its workers never consume what the suite's
    other tests publish on the test vhost."""
    stack_secrets = StackSecrets.new()
    own = dataclasses.replace(infra, rabbitmq_url=f"{infra.rabbitmq_url}_secured")
    async with own.amqp_session():  # every queue of the vhost purged first
        pass
    folder = tmp_path_factory.mktemp("secured-stack")
    async with (
        running_stack(own, folder, environment=stack_secrets.environment()) as stack,
        httpx.AsyncClient(
            base_url=stack.url("gateway"), headers={"X-API-Key": stack_secrets.api_key}, timeout=10
        ) as api,
    ):
        yield SecuredStack(stack=stack, secrets=stack_secrets, api=api)
