"""Container health checks: ``python -m common.healthcheck http URL`` or ``python -m common.healthcheck grpc
HOST:PORT [SERVER_NAME]``; exits 0 when the endpoint answers healthy. A gRPC check speaks TLS with the
process's ``GRPC_TLS_*`` files when they are set; ``SERVER_NAME`` is the name the service's certificate
carries when it is not ``HOST``."""

from __future__ import annotations

import sys
import urllib.request

from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.tls import PLAINTEXT, GrpcTls, blocking_channel
from common.settings import ServiceSettings, load_settings


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200."""
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - a URL from our own compose file
        return bool(response.status == 200)


def grpc_serving(target: str, tls: GrpcTls = PLAINTEXT, server_name: str | None = None) -> bool:
    """True when the gRPC health service at ``target`` says SERVING."""
    with blocking_channel(target, tls, server_name) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    kind, where, *server_name = sys.argv[1:]
    try:
        if kind == "http":
            healthy = http_ok(where)
        else:
            healthy = grpc_serving(where, load_settings(ServiceSettings).grpc_tls, *server_name)
    except Exception as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        healthy = False
    sys.exit(0 if healthy else 1)
