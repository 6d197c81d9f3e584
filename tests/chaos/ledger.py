"""Counting after a scenario: every accepted id must end ``delivered`` (and be at the sink) or ``failed`` with a
reason; copies at the sinks are counted per notification id (the email ``Message-ID``, the push collapse key).

:data:`RESULTS` collects one :class:`Tally` per scenario; the package's conftest prints them as the results
table at the end of the run (and writes it to ``$CHAOS_RESULTS_FILE`` when set).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.load import LoadResult
from tests.e2e.api import Api, Mailbox, PushServer

FINAL = frozenset({"delivered", "failed"})
MESSAGE_ID = re.compile(r"^<(?P<id>[0-9a-f-]{36})@")
SETTLE_SECONDS = 1.0
"""How long to wait after the last final status for a late copy to reach a sink."""


@dataclass
class Tally:
    """One row of the results table."""

    scenario: str
    accepted: int
    delivered: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    """reason → how many notifications ended ``failed`` with it."""
    lost: list[str] = field(default_factory=list)
    """Accepted ids that are neither ``failed`` nor ``delivered`` and at the sink."""
    duplicates: dict[str, int] = field(default_factory=dict)
    """id → copies beyond the first at the sink."""
    responses: Counter[int] = field(default_factory=Counter)
    """Status → how many responses the load driver saw (0: a transport error)."""
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())

    @property
    def five_xx(self) -> Counter[int]:
        return Counter({status: n for status, n in self.responses.items() if status >= 500})

    def row(self) -> str:
        failed = sum(self.failed.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.failed.items()))
        five_xx = ", ".join(f"{n} x {status}" for status, n in sorted(self.five_xx.items())) or "0"
        return (
            f"| {self.scenario} | {self.accepted} | {self.delivered} | {failed}{f' ({reasons})' if reasons else ''} "
            f"| {len(self.lost)} | {self.duplicate_count} | {five_xx} |"
        )


HEADER = (
    "| scenario | sends accepted | delivered | failed with reason | lost | duplicates | 5xx seen (all 503) |\n"
    "|---|---|---|---|---|---|---|"
)
RESULTS: list[Tally] = []


def results_table() -> str:
    """The markdown table of every scenario run so far."""
    return "\n".join([HEADER, *(tally.row() for tally in RESULTS)])


async def _final_statuses(api: Api, ids: set[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Poll each id until it is final or ``timeout`` passes; returns the last status of every id."""
    last: dict[str, dict[str, Any]] = {}
    pending = set(ids)
    gate = asyncio.Semaphore(16)
    deadline = asyncio.get_running_loop().time() + timeout

    async def look(notification_id: str) -> None:
        async with gate:
            response = await api.http.get(f"/v1/notifications/{notification_id}")
        if response.status_code == 200:
            last[notification_id] = response.json()
            if last[notification_id]["status"] in FINAL:
                pending.discard(notification_id)

    while pending:
        await asyncio.gather(*(look(notification_id) for notification_id in list(pending)))
        if not pending or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.3)
    return last


async def sink_copies(mailbox: Mailbox, push_server: PushServer) -> Counter[str]:
    """Copies per notification id at the SMTP sink (Message-ID) and the FCM server (collapse key)."""
    copies: Counter[str] = Counter()
    for email in await mailbox.messages():
        match = MESSAGE_ID.match(email.get("message_id") or "")
        if match:
            copies[match["id"]] += 1
    response = await push_server.http.get("/messages")
    response.raise_for_status()
    for record in response.json():
        key = (record["message"].get("android") or {}).get("collapse_key")
        if key:
            copies[key] += 1
    return copies


async def tally(
    scenario: str,
    api: Api,
    mailbox: Mailbox,
    push_server: PushServer,
    accepted: dict[str, str],
    load: LoadResult | None = None,
    *,
    timeout: float = 90.0,
) -> Tally:
    """Wait for every accepted id to end, count, and record the scenario's row in :data:`RESULTS`."""
    result = Tally(scenario, len(accepted), responses=load.statuses() if load else Counter())
    statuses = await _final_statuses(api, set(accepted), timeout)
    await asyncio.sleep(SETTLE_SECONDS)
    copies = await sink_copies(mailbox, push_server)
    for notification_id in accepted:
        status = statuses.get(notification_id, {})
        arrived = copies.get(notification_id, 0)
        if arrived > 1:
            result.duplicates[notification_id] = arrived - 1
        if status.get("status") == "delivered" and arrived:
            result.delivered += 1
        elif status.get("status") == "failed" and status.get("reason"):
            result.failed[status["reason"]] += 1
        else:
            result.lost.append(notification_id)
            result.notes.append(f"{notification_id}: {status.get('status', 'unknown')}, {arrived} at the sink")
    RESULTS.append(result)
    return result
