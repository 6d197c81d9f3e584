"""What the overview takes from ``GET /v1/stats`` (CONTRACT "Operators"): per-minute counts of accepted,
delivered and failed notifications, queue depths, breaker states and the dead letters waiting. The reading is
lenient about shape (a count may be one number or one per channel; lists or maps), so the overview keeps
working while the stats document grows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.console.charts import Series

SERIES = ("accepted", "delivered", "failed")


@dataclass(frozen=True, slots=True)
class Overview:
    series: list[Series]
    queues: list[tuple[str, Any]]
    breakers: list[tuple[str, str]]
    dead_letters: Any


def _count(value: Any) -> int:
    """A count, or the sum of a count per channel."""
    if isinstance(value, Mapping):
        return sum(_count(v) for v in value.values())
    return int(value) if isinstance(value, int | float) else 0


def _minute_count(row: Mapping[str, Any], name: str) -> int:
    """One minute's count of ``name``: given at the top, or per channel under ``channels``."""
    channels = row.get("channels")
    if name not in row and isinstance(channels, Mapping):
        return sum(_count(counts.get(name)) for counts in channels.values() if isinstance(counts, Mapping))
    return _count(row.get(name))


def _minutes(stats: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for name in ("minutes", "per_minute", "series", "rates"):
        if isinstance(stats.get(name), list):
            return [row for row in stats[name] if isinstance(row, Mapping)]
    return []


def _label(row: Mapping[str, Any]) -> str:
    for name in ("minute", "at", "start", "time"):
        if row.get(name):
            text = str(row[name])
            return text[11:16] if len(text) >= 16 else text
    return ""


def _named(value: Any, leaf: str) -> list[tuple[str, Any]]:
    """(name, value) pairs from a map (nested maps joined with ``/``) or a list of objects naming themselves."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, Any]] = []
        for name, inner in value.items():
            if isinstance(inner, Mapping) and leaf not in inner:
                pairs.extend((f"{name}/{sub}", v) for sub, v in _named(inner, leaf))
            else:
                pairs.append((str(name), inner.get(leaf) if isinstance(inner, Mapping) else inner))
        return pairs
    if isinstance(value, list):
        return [
            (
                "/".join(str(item[k]) for k in ("worker", "name", "queue", "relay") if item.get(k)),
                item.get(leaf, item.get("messages", item.get("depth"))),
            )
            for item in value
            if isinstance(item, Mapping)
        ]
    return []


def read_overview(stats: Mapping[str, Any]) -> Overview:
    """The overview's parts from a stats document."""
    minutes = _minutes(stats)
    labels = [_label(row) for row in minutes]
    series = [Series(name, labels, [_minute_count(row, name) for row in minutes]) for name in SERIES]
    queues = _named(stats.get("queues", stats.get("queue_depths")), "messages")
    breakers = [(name, str(state)) for name, state in _named(stats.get("breakers"), "state")]
    dead = stats.get("dead_letters_waiting", stats.get("dead_letters"))
    if isinstance(dead, Mapping):
        dead = dead.get("waiting", _count(dead))
    return Overview(series, queues, breakers, dead)
