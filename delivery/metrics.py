"""The delivery metrics every worker exposes on ``/metrics`` (docs/design.md §5), labelled by channel."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from common.metrics import LATENCY_BUCKETS

DELIVERED = Counter("notifications_delivered_total", "Notifications the provider accepted.", ["channel"])
FAILED = Counter(
    "notifications_failed_total",
    "Notifications given up (status failed, or a poison message dead-lettered), by reason.",
    ["channel", "reason"],
)
RETRIED = Counter("notifications_retried_total", "Transient failures sent to the retry ladder.", ["channel"])
DEFERRED = Counter(
    "notifications_deferred_total",
    "Sends deferred to the retry ladder without spending an attempt: an open circuit breaker, or another claim's"
    " live lease on the row.",
    ["channel"],
)
NOT_SENT = Counter(
    "notifications_not_sent_total",
    "Envelopes acked without sending because the claim found the row failed, skipped, cancelled or not yet due"
    " (reason: that status), or the address suppressed (reason: suppressed).",
    ["channel", "reason"],
)
DROPPED_MISSING_ROW = Counter(
    "notifications_dropped_missing_row_total",
    "Envelopes acked and dropped because their status row is missing.",
    ["channel"],
)
SKIPPED_DELIVERED = Counter(
    "notifications_duplicates_skipped_total", "Envelopes acked without sending: already delivered.", ["channel"]
)
PROVIDER_LATENCY = Histogram(
    "notification_provider_latency_seconds",
    "Time the provider took to accept or refuse one notification, by outcome.",
    ["channel", "outcome"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAIT = Counter(
    "notification_rate_limit_wait_seconds_total", "Seconds sends waited for the provider's rate ceiling.", ["channel"]
)
IN_FLIGHT = Gauge("notifications_in_flight", "Messages being handled right now.", ["channel"])
BREAKER_STATE = Gauge(
    "notification_circuit_breaker_state", "The provider's circuit breaker: 0 closed, 1 half-open, 2 open.", ["channel"]
)


class ChannelMetrics:
    """The metric children of one channel, resolved once (label lookups are not free on the hot path)."""

    def __init__(self, channel: str, breaker_state: Callable[[], float]) -> None:
        self.channel = channel
        self.delivered = DELIVERED.labels(channel)
        self.retried = RETRIED.labels(channel)
        self.deferred = DEFERRED.labels(channel)
        self.dropped_missing_row = DROPPED_MISSING_ROW.labels(channel)
        self.skipped_delivered = SKIPPED_DELIVERED.labels(channel)
        self.rate_limit_wait = RATE_LIMIT_WAIT.labels(channel)
        self.in_flight = IN_FLIGHT.labels(channel)
        self._latency = {
            outcome: PROVIDER_LATENCY.labels(channel, outcome) for outcome in ("delivered", "transient", "permanent")
        }
        BREAKER_STATE.labels(channel).set_function(breaker_state)

    def failed(self, reason: str) -> None:
        """Count one notification given up for ``reason``."""
        FAILED.labels(self.channel, reason).inc()

    def not_sent(self, reason: str) -> None:
        """Count one envelope acked without sending, for ``reason``."""
        NOT_SENT.labels(self.channel, reason).inc()

    def provider_latency(self, outcome: str, seconds: float) -> None:
        """Observe one provider call (``outcome``: delivered, transient or permanent)."""
        self._latency[outcome].observe(seconds)
