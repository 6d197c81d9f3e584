"""The email worker's own metrics, beside the runtime's (:mod:`delivery.metrics`)."""

from __future__ import annotations

from prometheus_client import Gauge

RELAY_BREAKER_STATE = Gauge(
    "email_relay_circuit_breaker_state",
    "The circuit breaker of each SMTP relay: 0 closed, 1 half-open, 2 open",
    ["relay"],
)
