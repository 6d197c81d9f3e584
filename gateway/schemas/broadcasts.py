"""Bodies of the broadcast routes (docs/api.md "Broadcasts")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BroadcastStateName = Literal["scheduled", "fanning_out", "done", "cancelled"]
"""``common.notification_tables.BroadcastState``'s values as a Literal."""

BROADCAST_EXAMPLE: dict[str, Any] = {
    "id": "0192f5d4-aa00-7d10-8b3e-5a6c7d8e9f02",
    "topic": "release-notes",
    "state": "done",
    "recipients": 1200,
    "queued": 0,
    "skipped": 14,
    "delivered": 1180,
    "failed": 6,
    "cancelled": 0,
    "created_at": "2026-11-27T10:15:00.123Z",
    "completed_at": "2026-11-27T10:15:04.210Z",
}


class Broadcast(BaseModel):
    """A topic send and where its notifications stand (the counters may lag by a second)."""

    model_config = ConfigDict(json_schema_extra={"examples": [BROADCAST_EXAMPLE]})

    id: uuid.UUID
    topic: str
    state: BroadcastStateName
    recipients: int = Field(description="Subscribers the fan-out has written a notification for so far.")
    queued: int = Field(description="Notifications not yet final: queued, sending or retrying.")
    skipped: int = Field(description="Skipped by preferences, devices or suppressions.")
    delivered: int
    failed: int = Field(description="Failed or bounced.")
    cancelled: int = Field(description="Cancelled before a worker claimed them.")
    created_at: datetime
    completed_at: datetime | None = Field(description="When the fan-out wrote its last subscriber (or was cancelled).")


class BroadcastPage(BaseModel):
    """One page of broadcasts, newest first."""

    items: list[Broadcast]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
