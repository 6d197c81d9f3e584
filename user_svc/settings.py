"""user_svc settings (DESIGN §3)."""

from __future__ import annotations

from pydantic import Field

from common.settings import DEV_JWT_SECRET, DatabaseServiceSettings, database_url_field, internal_key_field


class UserServiceSettings(DatabaseServiceSettings):
    """What user_svc reads from the environment."""

    database_url: str = database_url_field("USER_SVC_DATABASE_URL", "users")
    port: int = Field(default=50051, validation_alias="USER_SVC_PORT")
    internal_api_key: str = internal_key_field("USER_SERVICE_INTERNAL_API_KEY")
    jwt_secret: str = Field(default=DEV_JWT_SECRET, validation_alias="JWT_SECRET")
    jwt_expires_in: str = Field(default="3600", validation_alias="JWT_EXPIRES_IN")

    def secrets(self) -> dict[str, str]:
        return {"INTERNAL_API_KEY": self.internal_api_key, "JWT_SECRET": self.jwt_secret}
