"""Email worker settings: the SMTP server (the original system's ``SMTP_*`` names) and the shared runtime's
knobs, each read as ``EMAIL_WORKER_<KNOB>`` (see :mod:`delivery.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from common.settings import (
    bounce_domain_field,
    bounce_signing_key_field,
    dkim_key_secret_field,
    public_base_url_field,
)
from delivery.return_path import ReturnPath
from delivery.settings import WorkerSettings, worker_config
from email_worker.relays import Relay, parse_relays
from unsubscribe.settings import UnsubscribeKeySettings


class EmailWorkerSettings(WorkerSettings, UnsubscribeKeySettings):
    """What the email worker reads from the environment."""

    model_config = worker_config("EMAIL_WORKER_")

    port: int = Field(default=2525, ge=0, le=65535)
    smtp_host: str = Field(default="127.0.0.1", validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=1025, ge=1, le=65535, validation_alias="SMTP_PORT")
    smtp_relays: str = Field(default="", validation_alias="SMTP_RELAYS")
    """``host:port,host:port``, primary first; empty: the one relay ``SMTP_HOST``:``SMTP_PORT``."""
    relay_breaker_threshold: int = Field(default=5, ge=1)
    relay_breaker_pause_seconds: float = Field(default=30.0, gt=0)
    smtp_username: str = Field(default="", validation_alias="SMTP_USERNAME")
    smtp_password: str = Field(default="", validation_alias="SMTP_PASSWORD")
    smtp_from: str = Field(default="Notifications <notifications@example.com>", validation_alias="SMTP_FROM")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(default="none", validation_alias="SMTP_TLS")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_pool_size: int = Field(default=8, ge=1)
    message_id_domain: str = Field(default="notifications.local")
    test_key: str = Field(default="")
    """The operator key ``POST /test-email`` wants in ``X-Test-Key``; unset, the endpoint is off (404)."""
    bounce_domain: str = bounce_domain_field()
    bounce_signing_key: str = bounce_signing_key_field()
    dkim_key_secret: str = dkim_key_secret_field()
    dkim_key_ttl_seconds: float = Field(default=60.0, ge=0)
    """How long a sending domain's key (or its absence) is used before it is read again (0: every message)."""
    public_base_url: str = public_base_url_field()

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("smtp_relays")
    @classmethod
    def _relays(cls, value: str) -> str:
        if value.strip():
            parse_relays(value)
        return value.strip()

    @property
    def relays(self) -> list[Relay]:
        """The SMTP relays, primary first."""
        return parse_relays(self.smtp_relays) if self.smtp_relays else [Relay(self.smtp_host, self.smtp_port)]

    @property
    def return_path(self) -> ReturnPath:
        """The VERP return path each notification's email is sent with (docs/design.md §7)."""
        return ReturnPath.of(self.bounce_domain, self.bounce_signing_key)

    def secrets(self) -> dict[str, str]:
        test_key = {"EMAIL_WORKER_TEST_KEY": self.test_key} if self.test_key else {}
        return {**test_key, **self.signing_secrets()}

    def signing_secrets(self) -> dict[str, str]:
        return {
            "BOUNCE_SIGNING_KEY": self.bounce_signing_key,
            "DKIM_KEY_SECRET": self.dkim_key_secret,
            **self.unsubscribe_keys.named_secrets(),
        }

    def cleartext_risks(self) -> list[str]:
        if self.smtp_tls == "none" and (self.smtp_username or self.smtp_password):
            return ["SMTP_TLS=none would send SMTP_USERNAME and SMTP_PASSWORD in clear text: use starttls or tls"]
        return []
