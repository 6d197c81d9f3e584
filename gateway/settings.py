"""Gateway settings (DESIGN §3)."""

from __future__ import annotations

from pydantic import Field

from common.settings import (
    DEV_GATEWAY_API_KEY,
    DEV_JWT_SECRET,
    DatabaseServiceSettings,
    database_url_field,
    internal_key_field,
)


class GatewaySettings(DatabaseServiceSettings):
    """What the gateway reads from the environment."""

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")
    port: int = Field(default=8080, validation_alias="GATEWAY_PORT")
    api_keys: str = Field(default=DEV_GATEWAY_API_KEY, validation_alias="GATEWAY_API_KEYS")
    jwt_secret: str = Field(default=DEV_JWT_SECRET, validation_alias="JWT_SECRET")
    user_service_url: str = Field(default="127.0.0.1:50051", validation_alias="USER_SERVICE_URL")
    template_service_url: str = Field(default="127.0.0.1:50052", validation_alias="TEMPLATE_SERVICE_URL")
    user_service_internal_api_key: str = internal_key_field("USER_SERVICE_INTERNAL_API_KEY")
    template_service_internal_api_key: str = internal_key_field("TEMPLATE_SERVICE_INTERNAL_API_KEY")
    rate_limit_key_per_minute: int = Field(default=60000, ge=0, validation_alias="RATE_LIMIT_KEY_PER_MINUTE")
    rate_limit_user_per_minute: int = Field(default=120, ge=0, validation_alias="RATE_LIMIT_USER_PER_MINUTE")

    def secrets(self) -> dict[str, str]:
        keys = [key.strip() for key in self.api_keys.split(",")]
        secrets = {
            "JWT_SECRET": self.jwt_secret,
            "USER_SERVICE_INTERNAL_API_KEY": self.user_service_internal_api_key,
            "TEMPLATE_SERVICE_INTERNAL_API_KEY": self.template_service_internal_api_key,
        }
        secrets.update({f"GATEWAY_API_KEYS[{index}]": key for index, key in enumerate(keys)})
        return secrets
