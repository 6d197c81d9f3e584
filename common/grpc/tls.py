"""TLS on the gRPC mesh, from PEM files (``GRPC_TLS_CERT``, ``GRPC_TLS_KEY``, ``GRPC_TLS_CA``).

A server with a certificate speaks only TLS; with a CA as well it also requires a client certificate signed by
that CA (mutual TLS). A client with any of the three speaks TLS: it verifies the server against the CA (the
system's roots when none is set) and presents its own certificate when it has one. None of them: plaintext.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ChannelOptions = Sequence[tuple[str, Any]]


@dataclass(frozen=True)
class GrpcTls:
    """The PEM files of one process: its certificate chain and key, and the CA its peers must be signed by."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    @property
    def enabled(self) -> bool:
        """Whether this process speaks TLS on the mesh."""
        return any((self.cert, self.key, self.ca))


PLAINTEXT = GrpcTls()


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def server_credentials(tls: GrpcTls) -> grpc.ServerCredentials:
    """The server side of ``tls``; client certificates are required exactly when a CA is set."""
    if tls.cert is None or tls.key is None:
        raise ValueError("a gRPC server needs GRPC_TLS_CERT and GRPC_TLS_KEY to speak TLS")
    return grpc.ssl_server_credentials(
        [(tls.key.read_bytes(), tls.cert.read_bytes())],
        root_certificates=_read(tls.ca),
        require_client_auth=tls.ca is not None,
    )


def channel_credentials(tls: GrpcTls) -> grpc.ChannelCredentials:
    """The client side of ``tls``: the CA that must have signed the server, and this client's own pair."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca), private_key=_read(tls.key), certificate_chain=_read(tls.cert)
    )


def bind(server: grpc.aio.Server, address: str, tls: GrpcTls) -> int:
    """Listen on ``address`` with TLS when ``tls`` is enabled, in plaintext otherwise; the bound port."""
    if tls.enabled:
        return server.add_secure_port(address, server_credentials(tls))
    return server.add_insecure_port(address)


def aio_channel(
    target: str, tls: GrpcTls, *, interceptors: Sequence[grpc.aio.ClientInterceptor] = (), options: ChannelOptions = ()
) -> grpc.aio.Channel:
    """An asyncio channel to ``target``, over TLS when ``tls`` is enabled."""
    if tls.enabled:
        return grpc.aio.secure_channel(
            target, channel_credentials(tls), options=list(options), interceptors=list(interceptors)
        )
    return grpc.aio.insecure_channel(target, options=list(options), interceptors=list(interceptors))


def blocking_channel(target: str, tls: GrpcTls, server_name: str | None = None) -> grpc.Channel:
    """A synchronous channel to ``target``; ``server_name`` is the name the server's certificate must carry when
    it is not the target's host (a health check dialling 127.0.0.1, say)."""
    if not tls.enabled:
        return grpc.insecure_channel(target)
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return grpc.secure_channel(target, channel_credentials(tls), options=options)
