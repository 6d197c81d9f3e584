"""template_svc settings (DESIGN §3)."""

from __future__ import annotations

from pydantic import Field

from common.settings import DatabaseServiceSettings, database_url_field, internal_key_field


class TemplateServiceSettings(DatabaseServiceSettings):
    """What template_svc reads from the environment."""

    database_url: str = database_url_field("TEMPLATE_SVC_DATABASE_URL", "templates")
    port: int = Field(default=50052, validation_alias="TEMPLATE_SVC_PORT")
    internal_api_key: str = internal_key_field("TEMPLATE_SERVICE_INTERNAL_API_KEY")
    default_locale: str = Field(default="en", validation_alias="TEMPLATE_SVC_DEFAULT_LOCALE")

    def secrets(self) -> dict[str, str]:
        return {"INTERNAL_API_KEY": self.internal_api_key}
