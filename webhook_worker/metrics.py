"""webhook_worker's metrics on ``/metrics`` (docs/design.md §5, docs/operations.md "Metrics worth alerting on")."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import Counter, Gauge, Histogram

from common.metrics import LATENCY_BUCKETS
from delivery.breaker import BreakerState

DELIVERIES = Counter(
    "webhook_deliveries_total",
    "Delivery attempts by outcome: succeeded, retrying, failed (final), or deferred by an open breaker (no attempt).",
    ["outcome"],
)
ATTEMPT_LATENCY = Histogram(
    "webhook_attempt_latency_seconds",
    "Time one attempt took, answered or not, by whether it succeeded.",
    ["ok"],
    buckets=LATENCY_BUCKETS,
)
EXPANDED = Counter("webhook_events_expanded_total", "Outbox events expanded into deliveries.")
BACKLOG = Gauge("webhook_deliveries_due", "Deliveries due now and not yet sent (pending or retrying).")
OUTBOX_DEPTH = Gauge("webhook_outbox_depth", "Events in the outbox not yet expanded into deliveries.")
IN_FLIGHT = Gauge("webhook_deliveries_in_flight", "Attempts being made right now by this process.")
BREAKERS = Gauge("webhook_endpoint_breakers", "Endpoints this process sends to, by breaker state.", ["state"])
ENDPOINTS_DISABLED = Counter(
    "webhook_endpoints_disabled_total", "Endpoints disabled because every delivery failed for the whole window."
)
DELIVERIES_EXPIRED = Counter("webhook_deliveries_deleted_total", "Deliveries deleted after the retention period.")


def watch_breakers(states: Callable[[], Mapping[BreakerState, int]]) -> None:
    """Let the breaker gauge read ``states`` whenever it is scraped."""

    def counter(state: BreakerState) -> Callable[[], float]:
        return lambda: float(states().get(state, 0))

    for state in BreakerState:
        BREAKERS.labels(state.name.lower()).set_function(counter(state))
