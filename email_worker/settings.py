"""Email worker settings: the SMTP server (the original system's ``SMTP_*`` names) and the shared runtime's
knobs, each read as ``EMAIL_WORKER_<KNOB>`` (see :mod:`delivery.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from delivery.settings import WorkerSettings, worker_config


class EmailWorkerSettings(WorkerSettings):
    """What the email worker reads from the environment."""

    model_config = worker_config("EMAIL_WORKER_")

    port: int = Field(default=2525, ge=0, le=65535)
    smtp_host: str = Field(default="127.0.0.1", validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=1025, ge=1, le=65535, validation_alias="SMTP_PORT")
    smtp_username: str = Field(default="", validation_alias="SMTP_USERNAME")
    smtp_password: str = Field(default="", validation_alias="SMTP_PASSWORD")
    smtp_from: str = Field(default="Notifications <notifications@example.com>", validation_alias="SMTP_FROM")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(default="none", validation_alias="SMTP_TLS")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_pool_size: int = Field(default=8, ge=1)
    message_id_domain: str = Field(default="notifications.local")
    test_key: str = Field(default="")
    """The operator key ``POST /test-email`` wants in ``X-Test-Key``; unset, the endpoint is off (404)."""

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def secrets(self) -> dict[str, str]:
        return {"EMAIL_WORKER_TEST_KEY": self.test_key} if self.test_key else {}

    def cleartext_risks(self) -> list[str]:
        if self.smtp_tls == "none" and (self.smtp_username or self.smtp_password):
            return ["SMTP_TLS=none would send SMTP_USERNAME and SMTP_PASSWORD in clear text: use starttls or tls"]
        return []
