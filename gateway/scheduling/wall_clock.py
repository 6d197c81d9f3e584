"""Wall-clock times of a timezone as instants, with the daylight-saving rules docs/api.md "Scheduling" states:
a time the clocks skip (spring) moves forward by the gap, a time they pass twice (autumn) is the first one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.local_time import UTC_NAME


def zone(name: str) -> ZoneInfo:
    """The zone of a preferences' ``timezone`` (empty: UTC)."""
    return ZoneInfo(name or UTC_NAME)


def wall_instant(day: date, at: time, where: ZoneInfo) -> datetime:
    """The instant (UTC) at which clocks in ``where`` show ``at`` on ``day``. PEP 495's ``fold=0`` gives
    exactly the rules above: in a gap it applies the offset from before the change (so 01:30 in a 01:00→02:00
    gap is 02:30), in an overlap the first of the two offsets."""
    return datetime.combine(day, at.replace(fold=0), tzinfo=where).astimezone(UTC)


def next_wall_instant(at: time, where: ZoneInfo, after: datetime) -> datetime:
    """The first instant after ``after`` at which clocks in ``where`` show ``at``."""
    day = after.astimezone(where).date()
    instant = wall_instant(day, at, where)
    return instant if instant > after else wall_instant(day + timedelta(days=1), at, where)
