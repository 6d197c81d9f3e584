"""What ``GET /v1/stats`` counts (docs/api.md "Stats"): per minute of the window and channel, notifications
accepted (by the time in their id, over the ``(application_id, id)`` index) and those that became delivered,
failed or skipped (their events, over ``notification_events.at``); the broker's queue depths (passive
declares); the workers' breaker states (``common.breaker_board``); the dead letters waiting. An answer is kept
in Redis for ``GATEWAY_STATS_CACHE_SECONDS``, so a console polling it costs one count per few seconds."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aio_pika.abc import AbstractRobustConnection

from common.amqp.topology import queue_specs
from common.breaker_board import read_breakers
from common.channels import Channel
from common.dead_letter_store import DeadLetterStore
from common.ids import first_id_at
from common.redis_client import RedisClient

WINDOW_PATTERN = r"^([1-9][0-9]{0,3})(m|h)$"
MAX_WINDOW = timedelta(hours=24)
COUNTERS = ("accepted", "delivered", "failed", "skipped")

_ACCEPTED = """
SELECT date_trunc('minute', created_at) AS minute, channel, 'accepted' AS counter, count(*) AS n
FROM notification_statuses WHERE {confined} id >= $1 GROUP BY 1, 2
"""
_OUTCOMES = """
SELECT date_trunc('minute', e.at) AS minute, s.channel, e.status AS counter, count(*) AS n
FROM notification_events AS e JOIN notification_statuses AS s ON s.id = e.notification_id
WHERE {confined} e.at >= $1 AND e.status IN ('delivered', 'failed', 'skipped') GROUP BY 1, 2, 3
"""


def _queries(confined: bool) -> tuple[str, str]:
    """The two counts, with the application's condition written out (not ``$2 IS NULL OR``), so each keeps a
    plan that uses its index."""
    condition = "application_id = $2 AND" if confined else ""
    return (
        _ACCEPTED.format(confined=condition),
        _OUTCOMES.format(confined=condition.replace("application_id", "s.application_id")),
    )


def parse_window(text: str) -> timedelta | None:
    """``15m``, ``1h``, ``24h`` as a duration; None when it is not one, or longer than a day."""
    match = re.match(WINDOW_PATTERN, text)
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    window = timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount)
    return window if window <= MAX_WINDOW else None


@dataclass
class Stats:
    """Counts the stats of one application (None: every application) over the gateway's clients."""

    db: Any
    redis: RedisClient
    amqp: AbstractRobustConnection
    dead_letters: DeadLetterStore
    cache_seconds: float

    async def read(self, application_id: uuid.UUID | None, window_text: str, window: timedelta) -> bytes:
        """The JSON body of ``GET /v1/stats``, from the cache when it is fresh."""
        key = f"gw:stats:{application_id or 'all'}:{window_text}"
        cached: Any = await self.redis.get(key) if self.cache_seconds > 0 else None
        if cached is not None:
            return bytes(cached)
        body = orjson.dumps(await self._count(application_id, window_text, window), option=orjson.OPT_UTC_Z)
        if self.cache_seconds > 0:
            await self.redis.set(key, body, px=int(self.cache_seconds * 1000))
        return body

    async def _count(self, application_id: uuid.UUID | None, window_text: str, window: timedelta) -> dict[str, Any]:
        until = datetime.now(UTC)
        since = (until - window).replace(second=0, microsecond=0)
        minutes = await self._per_minute(application_id, since, until)
        return {
            "window": window_text,
            "since": since,
            "until": until,
            "minutes": minutes,
            "totals": {
                channel.value: {
                    counter: sum(minute["channels"][channel][counter] for minute in minutes) for counter in COUNTERS
                }
                for channel in Channel
            },
            "queues": await self._queues(),
            "breakers": [
                {"worker": report.worker, "instance": report.instance, "name": name, "state": state}
                for report in await read_breakers(self.redis)
                for name, state in sorted(report.breakers.items())
            ],
            "dead_letters": {"waiting": await self.dead_letters.count(application_id)},
        }

    async def _per_minute(
        self, application_id: uuid.UUID | None, since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        accepted, outcomes = _queries(application_id is not None)
        scope = (application_id,) if application_id is not None else ()
        rows = [
            *await self.db.fetch(accepted, first_id_at(since), *scope),
            *await self.db.fetch(outcomes, since, *scope),
        ]
        table: dict[datetime, dict[str, dict[str, int]]] = {}
        minute = since
        while minute <= until:
            table[minute] = {channel.value: dict.fromkeys(COUNTERS, 0) for channel in Channel}
            minute += timedelta(minutes=1)
        for row in rows:
            counts = table.get(row["minute"], {}).get(row["channel"])
            if counts is not None:
                counts[row["counter"]] += row["n"]
        return [{"minute": minute, "channels": channels} for minute, channels in table.items()]

    async def _queues(self) -> list[dict[str, Any]]:
        """Each queue of the topology with its ready messages and consumers."""
        channel = await self.amqp.channel()
        try:
            depths = []
            for spec in queue_specs():
                declared = (await channel.declare_queue(spec.name, passive=True)).declaration_result
                depths.append(
                    {"name": spec.name, "messages": declared.message_count, "consumers": declared.consumer_count}
                )
            return depths
        finally:
            await channel.close()
