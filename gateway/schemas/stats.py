"""The body of ``GET /v1/stats``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from gateway.schemas.notifications import ChannelName


class Counts(BaseModel):
    """Notifications of one channel: accepted, and those that became delivered, failed or skipped."""

    accepted: int
    delivered: int
    failed: int
    skipped: int


class Minute(BaseModel):
    """One minute of the window (its start), by channel."""

    minute: datetime
    channels: dict[ChannelName, Counts]


class QueueDepth(BaseModel):
    """A queue of the broker with its ready messages and consumers."""

    name: str
    messages: int
    consumers: int


class Breaker(BaseModel):
    """A circuit breaker of a running worker process: the channel's (named `email`, `push`) or a relay's
    (`smtp <relay>`)."""

    worker: str
    instance: str = Field(description="`<worker>@<host>:<pid>`.")
    name: str
    state: str = Field(description="`closed`, `half_open` or `open`.")


class DeadLettersWaiting(BaseModel):
    waiting: int


class StatsBody(BaseModel):
    """Rates, queues, breakers and dead letters, as the console's overview shows them."""

    window: str
    since: datetime = Field(description="The start of the first minute.")
    until: datetime
    minutes: list[Minute] = Field(description="Every minute of the window, oldest first, zeros included.")
    totals: dict[ChannelName, Counts]
    queues: list[QueueDepth] = Field(description="Every queue of the topology (the broker's, not per application).")
    breakers: list[Breaker] = Field(description="Of the worker processes that reported within 15 s.")
    dead_letters: DeadLettersWaiting
