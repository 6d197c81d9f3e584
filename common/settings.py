"""Settings shared by every service, read from the environment (docs/design.md §3).

Each service subclasses :class:`ServiceSettings` with its own fields; :func:`load_settings` builds one and
turns a validation failure into a :class:`SettingsError` that names the variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.grpc.tls import GrpcTls
from common.redis_client import as_cluster_url, cluster_node_url

DEV_INTERNAL_API_KEY = "dev-internal-key"
DEV_JWT_SECRET = "dev-jwt-secret-change-me-in-production"  # noqa: S105
DEV_GATEWAY_API_KEY = "dev-api-key"
DEV_GATEWAY_ADMIN_API_KEY = "dev-admin-key-change-me-in-production"
DEV_EMAIL_TEST_KEY = "dev-email-test-key"
DEV_BOUNCE_SIGNING_KEY = "dev-bounce-signing-key-change-me-in-production"
DEV_DKIM_KEY_SECRET = "dev-dkim-key-secret-change-me-in-production"  # noqa: S105
DEV_UNSUBSCRIBE_SIGNING_KEY = "dev-unsubscribe-signing-key-change-me-in-production"
DEV_PUBLIC_BASE_URL = "http://127.0.0.1:8080"
DEV_SECRETS = frozenset(
    {
        DEV_INTERNAL_API_KEY,
        DEV_JWT_SECRET,
        DEV_GATEWAY_API_KEY,
        DEV_GATEWAY_ADMIN_API_KEY,
        DEV_EMAIL_TEST_KEY,
        DEV_BOUNCE_SIGNING_KEY,
        DEV_DKIM_KEY_SECRET,
        DEV_UNSUBSCRIBE_SIGNING_KEY,
    }
)
MIN_SIGNING_SECRET_BYTES = 32
"""HS256 keys shorter than its 32-byte output can be brute-forced offline from any one token; the operator's key
is held to the same length."""

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


class AppEnv(StrEnum):
    """Where a service runs; production refuses dev secrets."""

    DEV = "dev"
    PRODUCTION = "production"


class SettingsError(Exception):
    """A setting in the environment is missing or malformed."""


def database_url_field(specific_variable: str, database: str) -> Any:
    """A database URL field read from ``specific_variable``, then ``DATABASE_URL``, then the local default."""
    return Field(
        default=f"{LOCAL_POSTGRES}/{database}",
        validation_alias=AliasChoices(specific_variable, "DATABASE_URL"),
    )


def internal_key_field(specific_variable: str | None = None) -> Any:
    """The internal gRPC key: the per-service variable first (when there is one), then ``INTERNAL_API_KEY``."""
    names = [specific_variable, "INTERNAL_API_KEY"] if specific_variable else ["INTERNAL_API_KEY"]
    return Field(default=DEV_INTERNAL_API_KEY, validation_alias=AliasChoices(*names))


def jwt_secret_field() -> Any:
    """``JWT_SECRET``: the key user tokens are signed with (user_svc) and verified with (gateway)."""
    return Field(default=DEV_JWT_SECRET, validation_alias="JWT_SECRET")


def bounce_domain_field() -> Any:
    """``BOUNCE_DOMAIN``: the domain of every return path, whose MX is the inbound service (docs/operations.md)."""
    return Field(default="bounces.example.com", min_length=1, max_length=253, validation_alias="BOUNCE_DOMAIN")


def bounce_signing_key_field() -> Any:
    """``BOUNCE_SIGNING_KEY``: the HMAC key of the return-path tags (the email worker makes them, inbound checks
    them)."""
    return Field(default=DEV_BOUNCE_SIGNING_KEY, validation_alias="BOUNCE_SIGNING_KEY")


def dkim_key_secret_field() -> Any:
    """``DKIM_KEY_SECRET``: the secret the sending domains' DKIM private keys are encrypted with at rest (the
    gateway stores them, the email worker signs with them; docs/operations.md "DKIM")."""
    return Field(default=DEV_DKIM_KEY_SECRET, validation_alias="DKIM_KEY_SECRET")


def unsubscribe_signing_keys_field() -> Any:
    """``UNSUBSCRIBE_SIGNING_KEYS``: the ring (``kid:secret,kid2:secret2``) of the one-click unsubscribe tokens;
    the email worker signs with the first key, the gateway verifies with any (docs/operations.md)."""
    return Field(default=f"dev:{DEV_UNSUBSCRIBE_SIGNING_KEY}", validation_alias="UNSUBSCRIBE_SIGNING_KEYS")


def public_base_url_field() -> Any:
    """``PUBLIC_BASE_URL``: where the internet reaches the gateway; the unsubscribe links point there."""
    return Field(default=DEV_PUBLIC_BASE_URL, validation_alias="PUBLIC_BASE_URL", pattern=r"^https?://[^\s/]+")


def _split_urls(value: str) -> tuple[str, ...]:
    return tuple(url.strip() for url in value.split(",") if url.strip())


def check_postgres_url(value: str) -> str:
    """Accept only a plain ``postgresql://`` URL (each service adds its driver itself)."""
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql://user@host:port/db URL")
    return value


class ServiceSettings(BaseSettings):
    """What every service reads: environment, bind address, logging, broker, cache and the internal key."""

    # Case-sensitive: only the upper-case names of docs/design.md §3 count, so a generic `PORT` (honcho, PaaS) or
    # `port` in the environment never reaches a field by its Python name.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, case_sensitive=True)

    app_env: AppEnv = Field(default=AppEnv.DEV, validation_alias="APP_ENV")
    bind_host: str = Field(default="127.0.0.1", validation_alias="BIND_HOST")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    rabbitmq_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", validation_alias="RABBITMQ_URL")
    rabbitmq_urls: str = Field(default="", validation_alias="RABBITMQ_URLS")
    rabbitmq_queue_type: Literal["quorum", "classic"] = Field(default="quorum", validation_alias="RABBITMQ_QUEUE_TYPE")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_cluster: bool = Field(default=False, validation_alias="REDIS_CLUSTER")
    grpc_tls_cert: Path | None = Field(default=None, validation_alias="GRPC_TLS_CERT")
    grpc_tls_key: Path | None = Field(default=None, validation_alias="GRPC_TLS_KEY")
    grpc_tls_ca: Path | None = Field(default=None, validation_alias="GRPC_TLS_CA")

    @field_validator("grpc_tls_cert", "grpc_tls_key", "grpc_tls_ca", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return value or None

    @field_validator("grpc_tls_cert", "grpc_tls_key", "grpc_tls_ca")
    @classmethod
    def _pem_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file (a PEM file)")
        return value

    @model_validator(mode="after")
    def _certificate_with_its_key(self) -> ServiceSettings:
        if (self.grpc_tls_cert is None) != (self.grpc_tls_key is None):
            raise ValueError("GRPC_TLS_CERT and GRPC_TLS_KEY go together: set both or neither")
        return self

    @property
    def grpc_tls(self) -> GrpcTls:
        """This process's TLS files on the gRPC mesh (plaintext when none is set)."""
        return GrpcTls(cert=self.grpc_tls_cert, key=self.grpc_tls_key, ca=self.grpc_tls_ca)

    @field_validator("rabbitmq_url")
    @classmethod
    def _amqp_url(cls, value: str) -> str:
        if not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must be an amqp://user:pass@host:port/vhost URL")
        return value

    @field_validator("rabbitmq_urls")
    @classmethod
    def _amqp_urls(cls, value: str) -> str:
        for url in _split_urls(value):
            if not url.startswith(("amqp://", "amqps://")):
                raise ValueError("must be a comma-separated list of amqp://user:pass@host:port/vhost URLs")
        return value

    @property
    def rabbitmq_nodes(self) -> tuple[str, ...]:
        """The broker's nodes in the order a client tries them: ``RABBITMQ_URLS`` when set (a cluster), else the
        one node of ``RABBITMQ_URL``."""
        return _split_urls(self.rabbitmq_urls) or (self.rabbitmq_url,)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")):
            raise ValueError("must be a redis://host:port/db or redis+cluster://host:port URL")
        return value

    @model_validator(mode="after")
    def _redis_cluster(self) -> ServiceSettings:
        """``REDIS_CLUSTER=1`` puts ``REDIS_URL`` in its cluster form, so the URL alone names the client to make
        (:mod:`common.redis_client`); a cluster has only database 0 and no Unix socket."""
        if self.redis_cluster:
            if self.redis_url.startswith("unix://"):
                raise ValueError("REDIS_CLUSTER=1 needs a redis:// URL: a Redis Cluster is reached over TCP")
            self.redis_url = as_cluster_url(self.redis_url)
        if cluster_node_url(self.redis_url) is not None:
            self.redis_cluster = True
            database = urlsplit(self.redis_url).path.strip("/")
            if database not in ("", "0"):
                raise ValueError("REDIS_URL names a Redis Cluster, which has only database 0")
        return self

    def secrets(self) -> dict[str, str]:
        """The secret settings by variable name; production refuses any that is empty or a dev value."""
        return {}

    def signing_secrets(self) -> dict[str, str]:
        """The secrets that sign tokens or guard everything (the operator's key), by variable name; production
        also refuses one shorter than :data:`MIN_SIGNING_SECRET_BYTES`."""
        return {}

    def cleartext_risks(self) -> list[str]:
        """What these settings would send in clear text, each naming its variables; production refuses any."""
        return []

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> ServiceSettings:
        if self.app_env is AppEnv.PRODUCTION:
            for variable, value in self.secrets().items():
                if not value or value in DEV_SECRETS:
                    raise ValueError(f"{variable} must be set to a real secret when APP_ENV=production")
            for variable, value in self.signing_secrets().items():
                if len(value.encode()) < MIN_SIGNING_SECRET_BYTES:
                    raise ValueError(
                        f"{variable} must be at least {MIN_SIGNING_SECRET_BYTES} bytes when APP_ENV=production"
                    )
        return self

    @model_validator(mode="after")
    def _no_cleartext_in_production(self) -> ServiceSettings:
        if self.app_env is AppEnv.PRODUCTION and (risks := self.cleartext_risks()):
            raise ValueError("; ".join(f"{risk} when APP_ENV=production" for risk in risks))
        return self


class DatabaseServiceSettings(ServiceSettings):
    """A service that owns or shares a database; subclasses name its variable with :func:`database_url_field`."""

    database_url: str = database_url_field("DATABASE_URL", "postgres")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        return check_postgres_url(value)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Build ``settings_class`` from the environment, or raise :class:`SettingsError` naming the variable."""
    try:
        return settings_class()
    except ValidationError as error:
        prefix = str(settings_class.model_config.get("env_prefix") or "")
        problems = []
        for item in error.errors():
            variable = ".".join(str(part) for part in item["loc"]).upper() or "settings"
            field = settings_class.model_fields.get(str(item["loc"][0])) if item["loc"] else None
            if field is not None and field.validation_alias is None:
                variable = (prefix + variable).upper()
            problems.append(f"{variable}: {item['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
