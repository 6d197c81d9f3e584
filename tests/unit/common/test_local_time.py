"""Timezone names and quiet-hours times: pure checks."""

from __future__ import annotations

from datetime import time

import pytest

from common.local_time import clock_text, clock_time, timezone_name


@pytest.mark.parametrize("name", ["Europe/Lisbon", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"])
def test_iana_names_are_kept_as_given(name: str) -> None:
    assert timezone_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "europe/lisbon", "Europe/Atlantis", "localtime", "/etc/localtime", "../zoneinfo/UTC", "+01:00"]
)
def test_anything_but_an_iana_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="IANA timezone"):
        timezone_name(name)


@pytest.mark.parametrize(("text", "parsed"), [("00:00", time(0, 0)), ("07:05", time(7, 5)), ("23:59", time(23, 59))])
def test_clock_times_round_trip(text: str, parsed: time) -> None:
    assert clock_time(text) == parsed
    assert clock_text(parsed) == text


@pytest.mark.parametrize(
    "text", ["", "7:00", "24:00", "12:60", "12:00:00", "12h30", " 12:30", "12:30\n", "\uff11\uff12:\uff13\uff10"]
)
def test_malformed_clock_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        clock_time(text)
