"""Prometheus metrics: the text exposition and a side HTTP server for services that have no HTTP port."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets for request and provider latency, from 1 ms to 10 s."""


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus text format, with their content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> None:
    """Serve ``/metrics`` from a background thread on ``host:port`` (for the gRPC-only services)."""
    start_http_server(port, addr=host)
