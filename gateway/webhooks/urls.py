"""The check of a URL a client registers (docs/api.md "Webhooks", URL rules): the policy of
``common.webhook_urls``, answered as a 422 naming ``url``."""

from __future__ import annotations

import asyncio

from common.webhook_urls import WebhookUrlRefused, parse_url, resolve_allowed
from gateway.errors import ProblemError

RESOLVE_TIMEOUT_SECONDS = 5.0


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise a 422 for ``url`` unless the system may call it. Without ``allow_private`` its host is also resolved
    now, so a name of a private address, or one that does not resolve, is refused at once rather than failing
    every delivery; webhook_worker checks the addresses again at each connection."""
    try:
        parts = parse_url(url, allow_private=allow_private)
        if not allow_private:
            assert parts.hostname is not None  # parse_url refuses a URL without one
            port = parts.port or (443 if parts.scheme == "https" else 80)
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                await resolve_allowed(parts.hostname, port, allow_private=False)
    except WebhookUrlRefused as refused:
        raise ProblemError.field("url", str(refused)) from None
    except TimeoutError:
        raise ProblemError.field("url", f"did not resolve within {RESOLVE_TIMEOUT_SECONDS:.0f} s") from None
