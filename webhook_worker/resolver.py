"""The HTTP client's resolver (docs/design.md §7 "Events out"): a host is resolved here, at every connection the
pool opens, and only to addresses ``common.webhook_urls`` allows, so the client connects to what was checked and
a DNS answer that turns private (rebinding) reaches nothing. Host header and TLS name stay the URL's."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from common.webhook_urls import resolve_allowed


class CheckedResolver(AbstractResolver):
    """Resolves only to allowed addresses; raises ``WebhookUrlRefused`` otherwise."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await resolve_allowed(host, port, allow_private=self._allow_private)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release: resolution goes through the event loop."""
