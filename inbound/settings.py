"""inbound settings: its own knobs as ``INBOUND_<KNOB>``, the return path (``BOUNCE_DOMAIN``,
``BOUNCE_SIGNING_KEY``, shared with the email worker) and the notifications database."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import (
    DatabaseServiceSettings,
    bounce_domain_field,
    bounce_signing_key_field,
    database_url_field,
)
from delivery.return_path import ReturnPath


class InboundSettings(DatabaseServiceSettings):
    """What inbound reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="INBOUND_", case_sensitive=False)

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")
    port: int = Field(default=8083, ge=0, le=65535)
    """The HTTP side: /health, /ready, /metrics."""
    smtp_port: int = Field(default=2526, ge=0, le=65535)
    smtp_hostname: str = Field(default="inbound.local")
    """The name inbound gives in its greeting and EHLO reply (the MX host name in production)."""
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Larger mail is refused at DATA (552): a report is a few kilobytes plus, at most, the original message."""
    db_pool_size: int = Field(default=4, ge=1)
    bounce_domain: str = bounce_domain_field()
    bounce_signing_key: str = bounce_signing_key_field()

    @property
    def return_path(self) -> ReturnPath:
        """The return paths whose mail inbound accepts."""
        return ReturnPath.of(self.bounce_domain, self.bounce_signing_key)

    def secrets(self) -> dict[str, str]:
        return {"BOUNCE_SIGNING_KEY": self.bounce_signing_key}

    def signing_secrets(self) -> dict[str, str]:
        return {"BOUNCE_SIGNING_KEY": self.bounce_signing_key}
