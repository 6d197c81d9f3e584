"""When a notification is due for one recipient (docs/api.md "Scheduling"): its ``send_at`` in the
recipient's timezone, then moved past the recipient's quiet hours unless it is ``high`` priority."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.local_time import clock_time
from gateway.errors import ProblemError
from gateway.scheduling.quiet_hours import quiet_end
from gateway.scheduling.wall_clock import next_wall_instant, wall_instant, zone
from gateway.schemas.notifications import NotificationContent, SendAt
from notification.v1 import notification_pb2 as pb

CLOCK_SKEW = timedelta(seconds=5)
"""How far in the past an instant ``send_at`` may be and still be sent (at once): the caller's clock may lag."""
MAX_AHEAD = timedelta(days=90)
"""How far ahead a notification may be scheduled."""
QUIET_HOURS_JITTER_SECONDS = 300.0
"""Deferred notifications go out up to this long after quiet hours end, so they do not all go at once."""
QUIET_HOURS_EXPIRED = "quiet_hours_expired"
"""The skip reason of a notification that would expire before its recipient's quiet hours end."""


def _jitter() -> float:
    return random.uniform(0.0, QUIET_HOURS_JITTER_SECONDS)  # noqa: S311 - spreading load, not a secret


@dataclass(frozen=True, slots=True)
class Timing:
    """What the clock decides for one recipient: publish now (``due`` None), at ``due``, or skip (``reason``)."""

    due: datetime | None
    reason: str | None = None


def check_send_at(content: NotificationContent, now: datetime) -> None:
    """422 for a ``send_at`` no recipient could have: an instant over :data:`CLOCK_SKEW` past or over
    :data:`MAX_AHEAD` ahead (or not before ``expires_at``), a local ``date`` before yesterday or over 90 days
    ahead. Checked before any work, so such a request takes no rate-limit token."""
    send_at = content.send_at
    if isinstance(send_at, datetime):
        if send_at < now - CLOCK_SKEW:
            raise ProblemError.field("send_at", "is in the past (more than 5 seconds)")
        if send_at > now + MAX_AHEAD:
            raise ProblemError.field("send_at", "is more than 90 days ahead")
        if content.expires_at is not None and content.expires_at <= send_at:
            raise ProblemError.field("expires_at", "is not after send_at")
    elif send_at is not None and send_at.date is not None:
        today = now.date()
        if send_at.date < today - timedelta(days=1):
            raise ProblemError.field("send_at.date", "is in the past")
        if send_at.date > today + MAX_AHEAD:
            raise ProblemError.field("send_at.date", "is more than 90 days ahead")


def requested_time(send_at: SendAt | None, timezone: str, now: datetime) -> datetime:
    """The instant ``send_at`` names for a recipient in ``timezone`` (now when absent or already past)."""
    if send_at is None:
        return now
    if isinstance(send_at, datetime):
        return max(send_at, now)
    where = zone(timezone)
    at = clock_time(send_at.local_time)
    if send_at.date is None:
        return next_wall_instant(at, where, now)
    return max(wall_instant(send_at.date, at, where), now)


def timing(
    content: NotificationContent,
    preferences: pb.Preferences,
    now: datetime,
    jitter: Callable[[], float] = _jitter,
) -> Timing:
    """When ``content`` is due for a recipient with ``preferences``: its ``send_at``, deferred to the end of
    quiet hours (plus jitter) for ``low``/``normal``; skipped when it would expire first. 422 when its own
    ``expires_at`` is not after its ``send_at`` for this recipient."""
    due = requested_time(content.send_at, preferences.timezone, now)
    if content.send_at is not None and content.expires_at is not None and content.expires_at <= due:
        raise ProblemError.field("expires_at", "is not after send_at")
    if content.priority != "high" and preferences.HasField("quiet_hours"):
        quiet = preferences.quiet_hours
        ends = quiet_end(due, zone(preferences.timezone), clock_time(quiet.start), clock_time(quiet.end))
        if ends is not None:
            due = ends + timedelta(seconds=jitter())
            if content.expires_at is not None and content.expires_at <= due:
                return Timing(None, QUIET_HOURS_EXPIRED)
    return Timing(due if due > now else None)
