"""template_svc settings (docs/design.md §3)."""

from __future__ import annotations

from pydantic import Field, field_validator

from common.settings import DatabaseServiceSettings, database_url_field, internal_key_field
from template_svc.locales import normalize_locale


class TemplateServiceSettings(DatabaseServiceSettings):
    """What template_svc reads from the environment."""

    database_url: str = database_url_field("TEMPLATE_SVC_DATABASE_URL", "templates")
    port: int = Field(default=50052, validation_alias="TEMPLATE_SVC_PORT")
    metrics_port: int = Field(default=9152, validation_alias="TEMPLATE_SVC_METRICS_PORT")
    internal_api_key: str = internal_key_field("TEMPLATE_SERVICE_INTERNAL_API_KEY")
    default_locale: str = Field(default="en", validation_alias="TEMPLATE_SVC_DEFAULT_LOCALE")
    render_timeout_seconds: float = Field(default=1.0, gt=0, validation_alias="TEMPLATE_SVC_RENDER_TIMEOUT")
    max_output_chars: int = Field(default=256 * 1024, ge=1024, validation_alias="TEMPLATE_SVC_MAX_OUTPUT_CHARS")
    render_threads: int = Field(default=4, ge=1, validation_alias="TEMPLATE_SVC_RENDER_THREADS")
    compile_cache_size: int = Field(default=1024, ge=1, validation_alias="TEMPLATE_SVC_COMPILE_CACHE_SIZE")

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return normalize_locale(value)

    def secrets(self) -> dict[str, str]:
        return {"INTERNAL_API_KEY": self.internal_api_key}
