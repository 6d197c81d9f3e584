"""The knobs every worker shares. A worker's settings class subclasses :class:`WorkerSettings` and names its
prefix with :func:`worker_config`, so each knob below is read from ``<PREFIX><NAME>``, e.g.
``EMAIL_WORKER_PREFETCH`` or ``PUSH_WORKER_MAX_ATTEMPTS``.

| knob (after the prefix) | default | meaning |
|---|---|---|
| ``PORT`` | per worker | the HTTP side port (/health, /ready, /metrics) |
| ``PREFETCH`` | 64 | unacknowledged messages the broker hands this replica at once |
| ``CONCURRENCY`` | 32 | messages handled at the same time (at most ``PREFETCH``) |
| ``MAX_ATTEMPTS`` | 5 | delivery attempts before a transient failure becomes ``failed`` (``retries_exhausted``) |
| ``RETRY_DELAY_SCALE`` | 1.0 | multiplies each retry's per-message expiration; below 1 only for tests and demos |
| ``PROVIDER_TIMEOUT_SECONDS`` | 30 | the longest one send may take; a claim's lease on its row is twice this |
| ``BREAKER_THRESHOLD`` | 5 | consecutive transient failures that open the provider's circuit breaker |
| ``BREAKER_PAUSE_SECONDS`` | 30 | how long an open breaker defers sends before one probe may go |
| ``MAX_PER_SECOND`` | 0 | provider send ceiling shared by every replica (Redis); 0 = none |
| ``SHUTDOWN_GRACE_SECONDS`` | 30 | on SIGTERM, how long in-flight messages may take before they are requeued |
| ``DB_POOL_SIZE`` | 4 | PostgreSQL connections (status writes are batched, so few are needed) |

The database is ``NOTIFICATIONS_DATABASE_URL`` (then ``DATABASE_URL``), shared with the gateway.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DatabaseServiceSettings, database_url_field


def worker_config(prefix: str) -> SettingsConfigDict:
    """The ``model_config`` of a worker's settings class: its runtime knobs are read as ``{prefix}NAME``.

    Matching is case-insensitive here (pydantic-settings would otherwise look for ``EMAIL_WORKER_port``); the
    prefix is what keeps a generic ``PORT`` from reaching the ``port`` knob.
    """
    return SettingsConfigDict(env_prefix=prefix, case_sensitive=False)


class WorkerSettings(DatabaseServiceSettings):
    """What the shared worker runtime reads; subclasses set ``model_config = worker_config("EMAIL_WORKER_")``."""

    model_config = worker_config("WORKER_")

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")
    port: int = Field(default=0, ge=0, le=65535)
    prefetch: int = Field(default=64, ge=1, le=65535)
    concurrency: int = Field(default=32, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    retry_delay_scale: float = Field(default=1.0, gt=0, le=1)
    provider_timeout_seconds: float = Field(default=30.0, gt=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_pause_seconds: float = Field(default=30.0, gt=0)
    max_per_second: float = Field(default=0.0, ge=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    db_pool_size: int = Field(default=4, ge=1)
    db_batch_linger_ms: float = Field(default=5.0, ge=0, le=100)
    """How long a claim or outcome batch waits for more while deliveries are steady (0: never): fewer, fuller
    statements for PostgreSQL at the price of these milliseconds (docs/operations.md "Tuning")."""

    @property
    def lease_seconds(self) -> float:
        """How long a claim holds its row: twice the provider timeout, so a live worker always writes its outcome
        within it (docs/design.md §1)."""
        return 2 * self.provider_timeout_seconds
