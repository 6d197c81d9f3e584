"""What the receiver keeps: every delivery as one JSON line in a file (so a restart keeps them), the newest ones
in memory for listing, a small summary of each for the statistics, and the secrets it verifies with."""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notify_client.webhooks import ID_HEADER, WebhookVerificationError, verify

MAX_LISTED_DELIVERIES = 20_000
"""The newest deliveries kept in full for ``GET /deliveries``; the statistics cover every one."""
RECORD_FILE = "deliveries.jsonl"


@dataclass(frozen=True)
class Summary:
    """The part of a delivery the statistics need."""

    path: str
    webhook_id: str
    event_type: str | None
    succeeded: bool
    verified: bool | None
    lag_seconds: float | None
    received: float
    """Unix time of arrival."""


class Secrets:
    """Endpoint secrets by URL-path prefix: a delivery is checked against every secret whose prefix its path has."""

    def __init__(self) -> None:
        self._by_prefix: dict[str, list[str]] = {}

    def add(self, path_prefix: str, secret: str) -> None:
        """Check deliveries under ``path_prefix`` with ``secret`` too."""
        known = self._by_prefix.setdefault(path_prefix, [])
        if secret not in known:
            known.append(secret)

    def prefixes(self) -> dict[str, int]:
        """How many secrets each prefix has (the secrets themselves are not shown again)."""
        return {prefix: len(found) for prefix, found in self._by_prefix.items()}

    def clear(self) -> None:
        self._by_prefix.clear()

    def for_path(self, path: str) -> list[str]:
        return [secret for prefix, found in self._by_prefix.items() if path.startswith(prefix) for secret in found]


def check_signature(secrets: Iterable[str], headers: Mapping[str, str], body: bytes) -> tuple[bool | None, int, str]:
    """(verified, how many of ``secrets`` sign ``body``, the first error): verified is None without secrets."""
    matching, error = 0, ""
    candidates = list(secrets)
    for secret in candidates:
        try:
            verify(secret, headers, body)
            matching += 1
        except (WebhookVerificationError, ValueError) as failure:
            error = error or str(failure)
    return (matching > 0 if candidates else None), matching, error


def _event_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(decoded, dict):
        return None, None
    return decoded.get("type"), decoded.get("timestamp")


def _lag(event_at: str | None, received: float) -> float | None:
    if not event_at:
        return None
    try:
        moment = datetime.fromisoformat(event_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return received - moment.timestamp()


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class Recorder:
    """Deliveries appended to ``directory/deliveries.jsonl`` and read back at start."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / RECORD_FILE
        self._listed: deque[dict[str, Any]] = deque(maxlen=MAX_LISTED_DELIVERIES)
        self._summaries: list[Summary] = []
        if self.path.exists():
            for line in self.path.read_text(errors="replace").splitlines():
                if line.strip():
                    self._remember(json.loads(line))
        self._file = self.path.open("a", encoding="utf-8")

    def record(
        self, path: str, headers: Mapping[str, str], body: bytes, answer: int, secrets: Iterable[str]
    ) -> dict[str, Any]:
        """Keep one delivery (``headers`` with lower-case names) answered with ``answer``; returns its record."""
        received = time.time()
        verified, matching, error = check_signature(secrets, headers, body)
        event_type, event_at = _event_fields(body)
        entry = {
            "webhook_id": headers.get(ID_HEADER, ""),
            "path": path,
            "received_at": datetime.fromtimestamp(received, UTC).isoformat(),
            "headers": dict(headers),
            "body": body.decode(errors="replace"),
            "type": event_type,
            "event_at": event_at,
            "lag_seconds": _lag(event_at, received),
            "verified": verified,
            "matching_secrets": matching,
            "error": error or None,
            "answer": answer,
        }
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        self._remember(entry)
        return entry

    def _remember(self, entry: dict[str, Any]) -> None:
        self._listed.append(entry)
        self._summaries.append(
            Summary(
                entry["path"],
                entry["webhook_id"],
                entry["type"],
                200 <= entry["answer"] < 300,
                entry["verified"],
                entry["lag_seconds"],
                datetime.fromisoformat(entry["received_at"]).timestamp(),
            )
        )

    def deliveries(
        self,
        path_prefix: str | None = None,
        webhook_id: str | None = None,
        event_type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The kept deliveries, oldest first, filtered; the newest ``limit`` of them."""
        found = [
            entry
            for entry in self._listed
            if (path_prefix is None or entry["path"].startswith(path_prefix))
            and (webhook_id is None or entry["webhook_id"] == webhook_id)
            and (event_type is None or entry["type"] == event_type)
        ]
        return found[-limit:] if limit else found

    def stats(self, path_prefix: str | None = None) -> dict[str, Any]:
        """Counts over every delivery since the last clear (under ``path_prefix``, when given)."""
        chosen = [s for s in self._summaries if path_prefix is None or s.path.startswith(path_prefix)]
        succeeded = [s for s in chosen if s.succeeded]
        distinct = {s.webhook_id for s in succeeded}
        lags = [s.lag_seconds for s in succeeded if s.lag_seconds is not None]
        arrivals = [s.received for s in succeeded]
        by_type: dict[str, int] = {}
        for summary in succeeded:
            by_type[summary.event_type or "?"] = by_type.get(summary.event_type or "?", 0) + 1
        return {
            "received": len(chosen),
            "succeeded": len(succeeded),
            "distinct_succeeded": len(distinct),
            "duplicates": len(succeeded) - len(distinct),
            "verified": sum(1 for s in chosen if s.verified is True),
            "verification_failed": sum(1 for s in chosen if s.verified is False),
            "unchecked": sum(1 for s in chosen if s.verified is None),
            "by_type": by_type,
            "first_succeeded_at": min(arrivals, default=None),
            "last_succeeded_at": max(arrivals, default=None),
            "lag_seconds": {
                "p50": _percentile(lags, 0.50),
                "p99": _percentile(lags, 0.99),
                "max": max(lags) if lags else None,
            },
        }

    def clear(self) -> None:
        """Forget every delivery, on disk too."""
        self._listed.clear()
        self._summaries.clear()
        self._file.seek(0)
        self._file.truncate()

    def close(self) -> None:
        self._file.close()
