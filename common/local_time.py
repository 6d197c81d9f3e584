"""Users' local time: IANA timezone names and the ``HH:MM`` times of quiet hours.

Shared by user_svc, which checks and stores them, the gateway, which documents and checks them at the edge
(so its 422 names the REST field), and whatever reads a profile's quiet hours back as times."""

from __future__ import annotations

import re
from datetime import time
from functools import cache
from zoneinfo import available_timezones

UTC_NAME = "UTC"
"""The timezone of a user who has not set one."""

_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
CLOCK_PATTERN = f"^{_CLOCK.pattern}$"
"""``HH:MM`` on a 24-hour clock, both digits of each part given."""

_NOT_IANA = frozenset({"localtime"})
"""Names the host's zone database may list that are no IANA zone (``localtime`` is the host's own)."""


@cache
def _zone_names() -> frozenset[str]:
    """The zone database's names, read once: listing them walks the database."""
    return frozenset(available_timezones()) - _NOT_IANA


def timezone_name(value: str) -> str:
    """An IANA timezone name such as ``Europe/Lisbon``, exactly as the database spells it."""
    if value not in _zone_names():
        raise ValueError("is not an IANA timezone such as Europe/Lisbon")
    return value


def clock_time(value: str) -> time:
    """The time of an ``HH:MM`` text (24-hour clock)."""
    if not _CLOCK.fullmatch(value):
        raise ValueError("must be a time as HH:MM on a 24-hour clock")
    return time(int(value[:2]), int(value[3:]))


def clock_text(value: time) -> str:
    """The ``HH:MM`` text of a time (its seconds, which quiet hours never have, dropped)."""
    return value.strftime("%H:%M")
