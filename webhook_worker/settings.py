"""webhook_worker settings (docs/design.md §3): its own knobs as ``WEBHOOK_WORKER_<KNOB>``, and the webhook policy
(``WEBHOOK_ALLOW_PRIVATE``, ``WEBHOOK_RETRY_SCHEDULE``, ``WEBHOOK_DISABLE_AFTER_SECONDS``,
``WEBHOOK_RETENTION_DAYS``) under the names docs/api.md gives it."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import DatabaseServiceSettings, database_url_field

DEFAULT_RETRY_SCHEDULE = "5s,30s,2m,10m,30m,1h,3h,6h,12h"
"""docs/api.md "Webhooks": the waits after the first nine failed attempts; the tenth failure is final."""
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_durations(text: str) -> tuple[float, ...]:
    """Seconds of each comma-separated duration in ``text`` (``5s``, ``2m``, ``1h``, ``0.2``: seconds by default);
    an empty ``text`` is no retry at all."""
    if not text.strip():
        return ()
    durations = []
    for item in text.split(","):
        match = DURATION.match(item)
        if match is None:
            raise ValueError(f"{item.strip()!r} is not a duration such as 5s, 2m, 1h or 0.5")
        durations.append(float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"])
    return tuple(durations)


class WebhookWorkerSettings(DatabaseServiceSettings):
    """What webhook_worker reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="WEBHOOK_WORKER_", case_sensitive=False)

    database_url: str = database_url_field("NOTIFICATIONS_DATABASE_URL", "notifications")
    port: int = Field(default=8082, ge=0, le=65535)
    allow_private: bool = Field(default=False, validation_alias="WEBHOOK_ALLOW_PRIVATE")
    retry_schedule: str = Field(default=DEFAULT_RETRY_SCHEDULE, validation_alias="WEBHOOK_RETRY_SCHEDULE")
    disable_after_seconds: float = Field(default=3 * 86400.0, gt=0, validation_alias="WEBHOOK_DISABLE_AFTER_SECONDS")
    retention_days: float = Field(default=30.0, gt=0, validation_alias="WEBHOOK_RETENTION_DAYS")
    timeout_seconds: float = Field(default=10.0, gt=0)
    """The whole of one attempt: connecting, sending and reading the (capped) answer."""
    lease_seconds: float = Field(default=60.0, gt=0)
    """How long a claimed delivery is held; a worker killed mid-send leaves it to be sent again after this."""
    concurrency: int = Field(default=256, ge=1)
    endpoint_concurrency: int = Field(default=16, ge=1)
    """Attempts in flight to one endpoint: 16 keeps up 800/s to one endpoint answering in 10 ms or so."""
    batch_size: int = Field(default=500, ge=1, le=500)
    poll_seconds: float = Field(default=0.2, gt=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_pause_seconds: float = Field(default=30.0, gt=0)
    maintenance_seconds: float = Field(default=30.0, gt=0)
    """How often endpoints failing too long are disabled and expired deliveries deleted."""
    metrics_seconds: float = Field(default=5.0, gt=0)
    """How often the backlog and outbox depth gauges are counted."""
    db_pool_size: int = Field(default=4, ge=2)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_durations(value)
        return value

    @model_validator(mode="after")
    def _lease_outlives_a_wait_and_an_attempt(self) -> WebhookWorkerSettings:
        # A claimed delivery may wait for one attempt of its endpoint before its own (webhook_worker/gates.py).
        if self.lease_seconds <= 2 * self.timeout_seconds:
            raise ValueError("WEBHOOK_WORKER_LEASE_SECONDS must be longer than twice WEBHOOK_WORKER_TIMEOUT_SECONDS")
        return self

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """The retry ladder in seconds."""
        return parse_durations(self.retry_schedule)
