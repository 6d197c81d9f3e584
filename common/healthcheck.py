"""Container health checks: ``python -m common.healthcheck http URL`` or ``python -m common.healthcheck grpc
HOST:PORT``; exits 0 when the endpoint answers healthy."""

from __future__ import annotations

import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200."""
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - a URL from our own compose file
        return bool(response.status == 200)


def grpc_serving(target: str) -> bool:
    """True when the gRPC health service at ``target`` says SERVING."""
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    kind, where = sys.argv[1], sys.argv[2]
    try:
        healthy = http_ok(where) if kind == "http" else grpc_serving(where)
    except Exception as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        healthy = False
    sys.exit(0 if healthy else 1)
