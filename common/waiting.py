"""Waiting for a dependency at start-up: a service started while PostgreSQL or RabbitMQ is down tries again with
backoff, saying what it waits for, instead of exiting (the workers have always done so; docs/design.md §1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 10.0


def where(url: str | Sequence[str]) -> str:
    """``host:port`` of a URL (or of each of a list, comma-separated), for a log line (never the credentials)."""
    if not isinstance(url, str):
        return ", ".join(where(one) for one in url)
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


async def wait_for(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    first_delay: float = FIRST_DELAY_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
) -> T:
    """``await attempt()`` until it succeeds, doubling the pause between tries up to ``max_delay``; each failure
    is logged as ``waiting for <what> (<error>)``."""
    delay = first_delay
    while True:
        try:
            return await attempt()
        except Exception as error:
            logger.warning("waiting for %s (%s: %s); trying again in %.1fs", what, type(error).__name__, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
