"""Gateway settings (docs/design.md §3)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from common.settings import (
    DEV_GATEWAY_ADMIN_API_KEY,
    DEV_GATEWAY_API_KEY,
    DatabaseServiceSettings,
    database_url_field,
    dkim_key_secret_field,
    internal_key_field,
    jwt_secret_field,
)
from unsubscribe.settings import UnsubscribeKeySettings


class GatewaySettings(DatabaseServiceSettings, UnsubscribeKeySettings):
    """What the gateway reads from the environment."""

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")
    port: int = Field(default=8080, ge=0, le=65535, validation_alias="GATEWAY_PORT")
    workers: int = Field(default=1, ge=1, validation_alias="GATEWAY_WORKERS")
    api_keys: str = Field(default=DEV_GATEWAY_API_KEY, validation_alias="GATEWAY_API_KEYS")
    admin_api_key: str = Field(default=DEV_GATEWAY_ADMIN_API_KEY, validation_alias="GATEWAY_ADMIN_API_KEY")
    """The operator's key: manages applications and keys (docs/design.md §7 Applications)."""
    key_cache_seconds: float = Field(default=30.0, gt=0, le=30, validation_alias="GATEWAY_KEY_CACHE_SECONDS")
    """How long an issued key or an application is trusted from memory; revocations reach every replica at once
    through ``notifications.events``, and within this lifetime when events cannot arrive."""
    key_cache_size: int = Field(default=100_000, ge=1, validation_alias="GATEWAY_KEY_CACHE_SIZE")
    key_usage_flush_seconds: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_KEY_USAGE_FLUSH_SECONDS")
    """How often the keys used lately get their ``last_used_at`` written, in one UPDATE."""
    purge_interval_seconds: float = Field(default=30.0, ge=0, validation_alias="GATEWAY_PURGE_INTERVAL_SECONDS")
    """How often a disabled application's data is looked for to purge (0 = not in this process)."""
    purge_batch_size: int = Field(default=1000, ge=1, validation_alias="GATEWAY_PURGE_BATCH_SIZE")
    jwt_secret: str = jwt_secret_field()
    dkim_key_secret: str = dkim_key_secret_field()

    user_service_url: str = Field(default="127.0.0.1:50051", validation_alias="USER_SERVICE_URL")
    template_service_url: str = Field(default="127.0.0.1:50052", validation_alias="TEMPLATE_SERVICE_URL")
    user_service_internal_api_key: str = internal_key_field("USER_SERVICE_INTERNAL_API_KEY")
    template_service_internal_api_key: str = internal_key_field("TEMPLATE_SERVICE_INTERNAL_API_KEY")
    max_connections: int = Field(default=1000, ge=1, validation_alias="GATEWAY_MAX_CONNECTIONS")
    """Open connections one gateway process serves; a request on one more is answered 503."""
    header_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_HEADER_TIMEOUT_SECONDS")
    """How long a client has to send a request's line and headers, from the connection or the request's first
    byte; the connection is closed after that."""
    body_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_BODY_TIMEOUT_SECONDS")
    """How long a client has to send a request's body once its headers are in."""
    keep_alive_seconds: int = Field(default=5, ge=1, validation_alias="GATEWAY_KEEP_ALIVE_SECONDS")
    """How long an idle keep-alive connection stays open between requests."""
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, validation_alias="GATEWAY_MAX_HEADER_BYTES")
    """The most a request line and its headers may take; more is answered 431."""
    max_sends_in_flight: int = Field(default=64, ge=1, validation_alias="GATEWAY_MAX_SENDS_IN_FLIGHT")
    """Sends (single, topic and batch requests) one gateway process works on at once; one more is answered 503
    with ``Retry-After`` at once, so an overload queues at the clients instead of in here (docs/operations.md
    "Overload")."""
    grpc_timeout_seconds: float = Field(default=2.0, gt=0, validation_alias="GATEWAY_GRPC_TIMEOUT_SECONDS")
    publish_timeout_seconds: float = Field(default=5.0, gt=0, validation_alias="GATEWAY_PUBLISH_TIMEOUT_SECONDS")
    db_pool_size: int = Field(default=20, ge=1, validation_alias="GATEWAY_DB_POOL_SIZE")
    db_batch_linger_ms: float = Field(default=2.0, ge=0, le=50, validation_alias="GATEWAY_DB_BATCH_LINGER_MS")
    """How long the INSERT of new rows waits for more sends while they arrive steadily (0: never): fewer, fuller
    statements for PostgreSQL, these milliseconds on a send's latency (docs/operations.md "Tuning")."""

    rate_limit_key_per_minute: int = Field(default=60000, ge=0, validation_alias="RATE_LIMIT_KEY_PER_MINUTE")
    rate_limit_user_per_minute: int = Field(default=120, ge=0, validation_alias="RATE_LIMIT_USER_PER_MINUTE")
    rate_limit_user_token_per_minute: int = Field(default=60, ge=0, validation_alias="RATE_LIMIT_USER_TOKEN_PER_MINUTE")
    """Requests one user may make with their own token (their user, preferences, devices); 0 = no limit."""
    rate_limit_window_seconds: float = Field(default=60.0, gt=0, validation_alias="GATEWAY_RATE_LIMIT_WINDOW_SECONDS")
    """The period the per-minute limits refer to; shortened only by tests."""

    idempotency_ttl_seconds: int = Field(default=86400, ge=1, validation_alias="GATEWAY_IDEMPOTENCY_TTL_SECONDS")
    idempotency_lock_seconds: int = Field(default=60, ge=1, validation_alias="GATEWAY_IDEMPOTENCY_LOCK_SECONDS")
    """How long a request in flight holds its key, should its gateway die before answering."""

    login_max_failures: int = Field(default=5, ge=1, validation_alias="GATEWAY_LOGIN_MAX_FAILURES")
    login_address_max_failures: int = Field(default=50, ge=0, validation_alias="GATEWAY_LOGIN_ADDRESS_MAX_FAILURES")
    """Failed logins one client address may make per window, across every email (0 = no limit)."""
    login_window_seconds: int = Field(default=900, ge=1, validation_alias="GATEWAY_LOGIN_WINDOW_SECONDS")
    login_concurrency: int = Field(default=16, ge=1, validation_alias="GATEWAY_LOGIN_CONCURRENCY")
    """Logins one gateway process has in progress at most; one more answers 503 at once."""
    trusted_proxies: str = Field(default="", validation_alias="GATEWAY_TRUSTED_PROXIES")
    """Comma-separated IPs and CIDRs of the reverse proxies in front: only a request from one of them has its
    client address taken from ``X-Forwarded-For``."""

    profile_cache_seconds: float = Field(default=60.0, ge=0, validation_alias="GATEWAY_PROFILE_CACHE_SECONDS")
    """How long a user's notification profile is reused (0 = never); change events evict it sooner, so the
    lifetime bounds staleness only while change events cannot arrive."""
    profile_cache_size: int = Field(default=10000, ge=1, validation_alias="GATEWAY_PROFILE_CACHE_SIZE")

    template_cache_seconds: float = Field(default=60.0, ge=0, validation_alias="GATEWAY_TEMPLATE_CACHE_SECONDS")
    """How long a template version is reused for in-process rendering (0 = fetched from template_svc for every
    send); TemplateChanged events and the gateway's own template writes evict it sooner."""
    template_cache_size: int = Field(default=1000, ge=1, validation_alias="GATEWAY_TEMPLATE_CACHE_SIZE")
    render_timeout_seconds: float = Field(default=1.0, gt=0, validation_alias="GATEWAY_RENDER_TIMEOUT_SECONDS")
    """The time limit of one in-process render (template_svc's is ``TEMPLATE_SVC_RENDER_TIMEOUT``)."""
    render_max_output_chars: int = Field(
        default=256 * 1024, ge=1024, validation_alias="GATEWAY_RENDER_MAX_OUTPUT_CHARS"
    )
    """The output cap of one rendered part (template_svc's is ``TEMPLATE_SVC_MAX_OUTPUT_CHARS``)."""

    published_flush_seconds: float = Field(default=1.0, gt=0, validation_alias="GATEWAY_PUBLISHED_FLUSH_SECONDS")
    """How often confirmed publishes are stamped ``published_at`` in one batched UPDATE; a row a worker claimed
    meanwhile is skipped (the claim sets ``published_at``), so with the workers keeping up most rows need no stamp.
    Must stay well below ``GATEWAY_RECONCILER_AGE_SECONDS``."""
    reconciler_age_seconds: float = Field(default=30.0, gt=0, validation_alias="GATEWAY_RECONCILER_AGE_SECONDS")
    reconciler_interval_seconds: float = Field(
        default=10.0, ge=0, validation_alias="GATEWAY_RECONCILER_INTERVAL_SECONDS"
    )
    """How often the reconciler looks for unpublished rows (0 = not in this process)."""
    reconciler_batch_size: int = Field(default=500, ge=1, validation_alias="GATEWAY_RECONCILER_BATCH_SIZE")
    dead_letter_mover_enabled: bool = Field(default=True, validation_alias="GATEWAY_DEAD_LETTER_MOVER_ENABLED")
    """Whether this process moves ``failed.queue`` into the ``dead_letters`` table (every replica may: a
    redelivered copy is stored once)."""
    stats_cache_seconds: float = Field(default=5.0, ge=0, le=60, validation_alias="GATEWAY_STATS_CACHE_SECONDS")
    """How long ``GET /v1/stats`` answers from Redis before counting again (0 = every request counts)."""
    scheduler_enabled: bool = Field(default=True, validation_alias="GATEWAY_SCHEDULER_ENABLED")
    """Whether this process publishes scheduled notifications when due (every replica may: they never share a
    row)."""
    scheduler_interval_seconds: float = Field(
        default=0.5, gt=0, le=1.0, validation_alias="GATEWAY_SCHEDULER_INTERVAL_SECONDS"
    )
    """The longest the scheduler sleeps between passes (it sleeps less when a row is due sooner): a row another
    replica scheduled is published at most this late."""
    scheduler_batch_size: int = Field(default=100, ge=1, le=500, validation_alias="GATEWAY_SCHEDULER_BATCH_SIZE")
    """The most due rows one pass claims (and keeps locked while it reads their profiles and renders them): small
    enough that a second's due rows are shared by the replicas and the first go out early."""
    scheduler_lookahead_seconds: float = Field(
        default=0.5, ge=0, le=1.0, validation_alias="GATEWAY_SCHEDULER_LOOKAHEAD_SECONDS"
    )
    """How early the scheduler claims rows and prepares them (profiles, rendering), then holds them until due:
    at their time only the write and the publish remain."""
    scheduler_concurrency: int = Field(default=2, ge=1, le=8, validation_alias="GATEWAY_SCHEDULER_CONCURRENCY")
    """Passes one process runs at once (each with its own database connection while it holds its claim)."""

    webhook_allow_private: bool = Field(default=False, validation_alias="WEBHOOK_ALLOW_PRIVATE")
    """Whether webhook URLs may be ``http://`` and reach loopback and private addresses (the dev default, 1); off,
    only ``https://`` URLs whose host resolves to public addresses are accepted."""

    content_days: int = Field(default=7, ge=0, validation_alias="NOTIFICATIONS_CONTENT_DAYS")
    """How many days a notification keeps its rendered content (the envelope) after its final status."""
    content_erase_interval_seconds: float = Field(
        default=600.0, ge=0, validation_alias="GATEWAY_CONTENT_ERASE_INTERVAL_SECONDS"
    )
    """How often the content past ``NOTIFICATIONS_CONTENT_DAYS`` is erased (0 = not in this process)."""
    content_erase_batch_size: int = Field(default=1000, ge=1, validation_alias="GATEWAY_CONTENT_ERASE_BATCH_SIZE")

    read_database_url: str | None = Field(default=None, validation_alias="NOTIFICATIONS_READ_DATABASE_URL")
    """A streaming replica of the notifications database: reads by id of a notification older than
    ``gateway.store.REPLICA_AGE_SECONDS`` go there (unset: every read goes to the primary)."""
    retention_days: int = Field(default=365, ge=120, validation_alias="NOTIFICATIONS_RETENTION_DAYS")
    """How many days of notifications are kept: a month whose ids are all older, and whose rows are all final,
    is dropped (``gateway.partition_maintenance``)."""
    partition_interval_seconds: float = Field(
        default=3600.0, ge=0, validation_alias="GATEWAY_PARTITION_INTERVAL_SECONDS"
    )
    """How often the monthly partitions are created ahead and the expired ones dropped (0 = not in this
    process; a pass also runs at start-up)."""

    broadcast_page_size: int = Field(default=500, ge=1, le=1000, validation_alias="GATEWAY_BROADCAST_PAGE_SIZE")
    """Subscribers a fan-out writes per statement and checkpoint."""
    broadcast_lease_seconds: float = Field(default=30.0, gt=0, validation_alias="GATEWAY_BROADCAST_LEASE_SECONDS")
    """How long a claimed fan-out stays its replica's without a checkpoint; a replica that died loses it then."""
    broadcast_interval_seconds: float = Field(default=1.0, ge=0, validation_alias="GATEWAY_BROADCAST_INTERVAL_SECONDS")
    """How often a replica looks for a fan-out to claim (0 = not in this process)."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies' addresses and networks, without blanks."""
        return _items(self.trusted_proxies)

    def api_key_list(self) -> list[str]:
        """The accepted API keys, without blanks."""
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    def secrets(self) -> dict[str, str]:
        keys = [key.strip() for key in self.api_keys.split(",")]
        secrets = {
            "JWT_SECRET": self.jwt_secret,
            "USER_SERVICE_INTERNAL_API_KEY": self.user_service_internal_api_key,
            "TEMPLATE_SERVICE_INTERNAL_API_KEY": self.template_service_internal_api_key,
            "GATEWAY_ADMIN_API_KEY": self.admin_api_key,
            "DKIM_KEY_SECRET": self.dkim_key_secret,
        }
        secrets.update({f"GATEWAY_API_KEYS[{index}]": key for index, key in enumerate(keys)})
        secrets.update(self.unsubscribe_keys.named_secrets())
        return secrets

    def signing_secrets(self) -> dict[str, str]:
        return {
            "JWT_SECRET": self.jwt_secret,
            "GATEWAY_ADMIN_API_KEY": self.admin_api_key,
            "DKIM_KEY_SECRET": self.dkim_key_secret,
            **self.unsubscribe_keys.named_secrets(),
        }


def _items(value: str) -> list[str]:
    """The non-blank entries of a comma-separated list."""
    return [item.strip() for item in value.split(",") if item.strip()]
