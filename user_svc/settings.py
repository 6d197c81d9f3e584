"""user_svc settings (docs/design.md §3)."""

from __future__ import annotations

from pydantic import Field, field_validator

from common.settings import DatabaseServiceSettings, database_url_field, internal_key_field, jwt_secret_field
from common.tokens import parse_duration


class UserServiceSettings(DatabaseServiceSettings):
    """What user_svc reads from the environment."""

    database_url: str = database_url_field("USER_SVC_DATABASE_URL", "users")
    port: int = Field(default=50051, validation_alias="USER_SVC_PORT")
    metrics_port: int = Field(default=9151, validation_alias="USER_SVC_METRICS_PORT")
    internal_api_key: str = internal_key_field("USER_SERVICE_INTERNAL_API_KEY")
    jwt_secret: str = jwt_secret_field()
    jwt_expires_in: str = Field(default="3600", validation_alias="JWT_EXPIRES_IN")
    default_locale: str = Field(default="en", min_length=2, validation_alias="USER_SVC_DEFAULT_LOCALE")
    profile_cache_ttl_seconds: int = Field(default=60, ge=1, validation_alias="USER_SVC_PROFILE_CACHE_TTL")
    password_time_cost: int = Field(default=2, ge=1, validation_alias="USER_SVC_PASSWORD_TIME_COST")
    password_memory_kib: int = Field(default=19456, ge=8, validation_alias="USER_SVC_PASSWORD_MEMORY_KIB")
    password_queue_size: int = Field(default=32, ge=0, validation_alias="USER_SVC_PASSWORD_QUEUE_SIZE")
    """Password hashes that may wait for a thread (one per CPU) before more are refused with RESOURCE_EXHAUSTED."""

    @field_validator("jwt_expires_in")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def jwt_expires_seconds(self) -> int:
        """``JWT_EXPIRES_IN`` in seconds."""
        return parse_duration(self.jwt_expires_in)

    def secrets(self) -> dict[str, str]:
        return {"INTERNAL_API_KEY": self.internal_api_key, "JWT_SECRET": self.jwt_secret}

    def signing_secrets(self) -> dict[str, str]:
        return {"JWT_SECRET": self.jwt_secret}
