"""gRPC client channels: one pooled channel per target, TLS when the process has it (``common.grpc.tls``), the
internal key on every call, and bounded automatic retries for ``UNAVAILABLE`` only."""

from __future__ import annotations

import json

import grpc

from common.grpc.interceptors import InternalKeyClientInterceptor
from common.grpc.tls import PLAINTEXT, GrpcTls, aio_channel

_RETRY_UNAVAILABLE = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


def internal_channel(target: str, internal_key: str, tls: GrpcTls = PLAINTEXT) -> grpc.aio.Channel:
    """A channel to ``target`` (``host:port``), over TLS when ``tls`` is enabled, that sends the internal key and
    correlation id on each call."""
    return aio_channel(
        target,
        tls,
        interceptors=[InternalKeyClientInterceptor(internal_key)],
        options=[
            ("grpc.service_config", _RETRY_UNAVAILABLE),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )
