"""Prometheus metrics: the text exposition, a side HTTP server for services that have no HTTP port, and one
exposition for a service that runs as several processes (the gateway with ``GATEWAY_WORKERS`` > 1)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets for request and provider latency, from 1 ms to 10 s."""

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess mode: each process writes its values to files in this directory."""


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus text format, with their content type: those of every process of the
    service when they share a :data:`MULTIPROCESS_DIRECTORY`, else this process's."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@contextlib.contextmanager
def metrics_shared_by_child_processes() -> Iterator[None]:
    """Within the block, processes started afresh (spawned) keep their metrics in one new directory, so that
    any of them answers ``/metrics`` for all; the directory is removed afterwards. A directory the operator set
    in :data:`MULTIPROCESS_DIRECTORY` is used as it is (and kept)."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        yield
        return
    directory = tempfile.mkdtemp(prefix="metrics-")
    os.environ[MULTIPROCESS_DIRECTORY] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIRECTORY, None)
        shutil.rmtree(directory, ignore_errors=True)


def serve_metrics(host: str, port: int) -> None:
    """Serve ``/metrics`` from a background thread on ``host:port`` (for the gRPC-only services)."""
    start_http_server(port, addr=host)
