"""Push worker settings: the shared worker knobs as ``PUSH_WORKER_*`` (see ``delivery.settings``), FCM
and user_svc (docs/design.md §3)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from common.settings import internal_key_field
from delivery.settings import WorkerSettings, worker_config


class PushWorkerSettings(WorkerSettings):
    """What the push worker reads from the environment."""

    model_config = worker_config("PUSH_WORKER_")

    port: int = Field(default=8081, ge=0, le=65535)
    google_application_credentials: Path = Field(validation_alias="GOOGLE_APPLICATION_CREDENTIALS")
    """The service-account JSON firebase-admin authenticates with; its ``token_uri`` is honoured."""
    fcm_endpoint: str | None = Field(default=None, validation_alias="FCM_ENDPOINT")
    """Replaces ``https://fcm.googleapis.com``; unset sends to Google."""
    user_service_url: str = Field(default="127.0.0.1:50051", validation_alias="USER_SERVICE_URL")
    user_service_internal_api_key: str = internal_key_field("USER_SERVICE_INTERNAL_API_KEY")
    user_service_timeout_seconds: float = Field(default=2.0, gt=0)
    """Deadline of the ``RemoveDevice`` call for a dead token."""

    @field_validator("google_application_credentials")
    @classmethod
    def _credentials_file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"{value} is not a file (the Firebase service-account JSON)")
        return value

    @field_validator("fcm_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// base URL, e.g. http://127.0.0.1:9099")
        return value.rstrip("/")

    def secrets(self) -> dict[str, str]:
        return {"USER_SERVICE_INTERNAL_API_KEY": self.user_service_internal_api_key}

    def cleartext_risks(self) -> list[str]:
        if self.fcm_endpoint and self.fcm_endpoint.startswith("http://"):
            return ["FCM_ENDPOINT must be https:// (access token, device tokens and content would cross in clear)"]
        return []
