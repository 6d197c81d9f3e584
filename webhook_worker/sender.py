"""One attempt at one delivery (docs/api.md "Webhooks"): a signed POST through a shared connection pool, no
redirect followed, at most ``timeout`` in all, and at most 64 KiB of the answer read."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import aiohttp

from common.webhook_signature import signed_headers
from common.webhook_urls import WebhookUrlRefused, parse_url
from webhook_worker.deliveries import Delivery
from webhook_worker.resolver import CheckedResolver

MAX_ANSWER_BYTES = 64 * 1024
ERROR_SNIPPET_CHARS = 200
"""How much of a refusing answer last_error keeps."""
USER_AGENT = "notification-system-webhooks/1"
BASE_HEADERS = {"content-type": "application/json", "user-agent": USER_AGENT}


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST got: ``ok`` for a 2xx."""

    ok: bool
    response_status: int | None
    response_ms: int
    error: str | None


class WebhookSender:
    """Posts deliveries through one pooled client; ``close()`` when done."""

    def __init__(self, *, allow_private: bool, timeout_seconds: float, pool_size: int) -> None:
        self._allow_private = allow_private
        self._timeout_seconds = timeout_seconds
        connector = aiohttp.TCPConnector(
            limit=pool_size, limit_per_host=0, resolver=CheckedResolver(allow_private=allow_private)
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        self._checked_url = functools.lru_cache(maxsize=4096)(self._check_url)

    async def post(self, delivery: Delivery) -> Attempt:
        """Send ``delivery`` once; never raises for what the endpoint or the network does."""
        started = time.perf_counter()
        try:
            url = self._checked_url(delivery.url)
            headers = signed_headers(delivery.secrets, str(delivery.id), int(time.time()), delivery.body)
            headers.update(BASE_HEADERS)
            async with self._session.post(url, data=delivery.body, headers=headers, allow_redirects=False) as answer:
                head = await _read_capped(answer.content)
                status = answer.status
                location = answer.headers.get("location")
        except WebhookUrlRefused as refused:
            return Attempt(False, None, _ms_since(started), f"refused: the URL {refused}")
        except TimeoutError:
            return Attempt(False, None, _ms_since(started), f"no answer within {self._timeout_seconds:g} s")
        except aiohttp.ClientError as error:
            return Attempt(False, None, _ms_since(started), f"connection failed: {error!s}"[:ERROR_SNIPPET_CHARS])
        elapsed = _ms_since(started)
        if 200 <= status < 300:
            return Attempt(True, status, elapsed, None)
        if 300 <= status < 400:
            return Attempt(False, status, elapsed, f"HTTP {status} to {location}: redirects are not followed")
        snippet = head[:ERROR_SNIPPET_CHARS].decode(errors="replace")
        return Attempt(False, status, elapsed, f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}")

    async def close(self) -> None:
        """Close the pool."""
        await self._session.close()

    def _check_url(self, url: str) -> str:
        # An address written in the URL never goes through the resolver: it is checked here.
        parse_url(url, allow_private=self._allow_private)
        return url


async def _read_capped(stream: aiohttp.StreamReader) -> bytes:
    """Up to :data:`MAX_ANSWER_BYTES` of an answer; the rest is never read (the connection is then dropped)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER_BYTES and (chunk := await stream.read(MAX_ANSWER_BYTES - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
