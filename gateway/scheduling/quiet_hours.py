"""Quiet hours (docs/api.md "Scheduling"): from ``start`` to ``end`` in the user's timezone, every day, crossing
midnight when ``end`` is not after ``start`` (22:00 to 07:00)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.scheduling.wall_clock import wall_instant


def quiet_end(instant: datetime, where: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet hours that ``instant`` falls in end (``start`` inclusive, ``end`` exclusive), or None
    when it falls in none."""
    local = instant.astimezone(where)
    clock, day = local.time().replace(tzinfo=None), local.date()
    if start < end:
        end_day = day if start <= clock < end else None
    elif clock >= start:
        end_day = day + timedelta(days=1)
    else:
        end_day = day if clock < end else None
    if end_day is None:
        return None
    ends = wall_instant(end_day, end, where)
    return ends if ends > instant else None
