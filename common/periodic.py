"""Background passes that repeat: a job every interval until cancelled, where a failed pass is logged and the
next one tried, so one bad pass (a database restart) never ends the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def run_every(interval_seconds: float, job: Callable[[], Awaitable[object]], what: str) -> None:
    """Run ``job`` every ``interval_seconds`` (first after one interval) until cancelled; ``what`` names it in
    the warning a failed pass logs."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await job()
        except Exception:
            logger.warning("%s failed", what, exc_info=True)
