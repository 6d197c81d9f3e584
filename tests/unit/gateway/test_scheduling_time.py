"""When a scheduled notification is due: wall-clock times across both daylight-saving changes of a year
(Europe/Lisbon, America/New_York), quiet-hours windows (crossing midnight or not), and ``send_at`` as a
request gives it (docs/api.md "Scheduling")."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from gateway.errors import ProblemError
from gateway.scheduling.quiet_hours import quiet_end
from gateway.scheduling.timing import QUIET_HOURS_EXPIRED, check_send_at, timing
from gateway.scheduling.wall_clock import next_wall_instant, wall_instant, zone
from gateway.schemas.notifications import SendRequest
from notification.v1 import notification_pb2 as pb

LISBON = zone("Europe/Lisbon")
NEW_YORK = zone("America/New_York")
NIGHT = (time(22), time(7))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("where", "day", "at", "instant"),
    [
        (LISBON, date(2027, 1, 15), time(9), utc(2027, 1, 15, 9)),  # WET = UTC
        (LISBON, date(2027, 7, 15), time(9), utc(2027, 7, 15, 8)),  # WEST = UTC+1
        # last Sunday of March: 01:00 WET becomes 02:00 WEST; 01:30 does not exist, moves forward by the gap
        (LISBON, date(2027, 3, 28), time(1, 30), utc(2027, 3, 28, 1, 30)),
        (LISBON, date(2027, 3, 28), time(2, 30), utc(2027, 3, 28, 1, 30)),
        # last Sunday of October: 02:00 WEST becomes 01:00 WET; 01:30 happens twice, the first is WEST
        (LISBON, date(2027, 10, 31), time(1, 30), utc(2027, 10, 31, 0, 30)),
        (LISBON, date(2027, 10, 31), time(2, 30), utc(2027, 10, 31, 2, 30)),
        # second Sunday of March: 02:00 EST becomes 03:00 EDT; 02:30 is 03:30 EDT
        (NEW_YORK, date(2027, 3, 14), time(2, 30), utc(2027, 3, 14, 7, 30)),
        (NEW_YORK, date(2027, 3, 14), time(9), utc(2027, 3, 14, 13)),
        # first Sunday of November: 02:00 EDT becomes 01:00 EST; 01:30 happens twice, the first is EDT
        (NEW_YORK, date(2027, 11, 7), time(1, 30), utc(2027, 11, 7, 5, 30)),
        (NEW_YORK, date(2027, 11, 7), time(9), utc(2027, 11, 7, 14)),
    ],
)
def test_a_wall_clock_time_is_one_instant_across_daylight_saving(
    where: Any, day: date, at: time, instant: datetime
) -> None:
    assert wall_instant(day, at, where) == instant


def test_the_next_wall_clock_time_is_today_or_tomorrow() -> None:
    assert next_wall_instant(time(9), LISBON, utc(2027, 1, 15, 8)) == utc(2027, 1, 15, 9)
    assert next_wall_instant(time(9), LISBON, utc(2027, 1, 15, 9)) == utc(2027, 1, 16, 9)
    assert next_wall_instant(time(9), NEW_YORK, utc(2027, 1, 15, 13, 30)) == utc(2027, 1, 15, 14)
    # after midnight UTC it is still the evening before in New York
    assert next_wall_instant(time(23), NEW_YORK, utc(2027, 1, 16, 3)) == utc(2027, 1, 16, 4)
    # the day the clocks skip 01:30 in Lisbon, "the next 01:30" is 02:30 WEST
    assert next_wall_instant(time(1, 30), LISBON, utc(2027, 3, 27, 12)) == utc(2027, 3, 28, 1, 30)


@pytest.mark.parametrize(
    ("instant", "ends"),
    [
        (utc(2027, 1, 15, 12), None),
        (utc(2027, 1, 15, 21, 59), None),
        (utc(2027, 1, 15, 22), utc(2027, 1, 16, 7)),  # start inclusive
        (utc(2027, 1, 15, 23, 30), utc(2027, 1, 16, 7)),  # before midnight: ends tomorrow
        (utc(2027, 1, 16, 3), utc(2027, 1, 16, 7)),  # after midnight: ends today
        (utc(2027, 1, 16, 7), None),  # end exclusive
        # the night the clocks go forward: 07:00 WEST is 06:00 UTC
        (utc(2027, 3, 27, 23), utc(2027, 3, 28, 6)),
        (utc(2027, 3, 28, 5, 30), utc(2027, 3, 28, 6)),
        (utc(2027, 3, 28, 6, 30), None),
        # the night the clocks go back: 23:30 WEST, and the window ends at 07:00 WET
        (utc(2027, 10, 30, 22, 30), utc(2027, 10, 31, 7)),
        (utc(2027, 10, 31, 1, 15), utc(2027, 10, 31, 7)),
    ],
)
def test_quiet_hours_crossing_midnight_in_lisbon(instant: datetime, ends: datetime | None) -> None:
    assert quiet_end(instant, LISBON, *NIGHT) == ends


@pytest.mark.parametrize(
    ("instant", "ends"),
    [
        (utc(2027, 3, 14, 4), utc(2027, 3, 14, 11)),  # 23:00 EST, ends 07:00 EDT
        (utc(2027, 3, 14, 10, 30), utc(2027, 3, 14, 11)),
        (utc(2027, 11, 7, 3), utc(2027, 11, 7, 12)),  # 23:00 EDT, ends 07:00 EST
        (utc(2027, 11, 7, 11, 30), utc(2027, 11, 7, 12)),
        (utc(2027, 11, 7, 12), None),
    ],
)
def test_quiet_hours_across_new_york_daylight_saving(instant: datetime, ends: datetime | None) -> None:
    assert quiet_end(instant, NEW_YORK, *NIGHT) == ends


def test_quiet_hours_within_one_day_and_ending_in_the_spring_gap() -> None:
    lunch = (time(13), time(14))
    assert quiet_end(utc(2027, 1, 15, 13, 30), LISBON, *lunch) == utc(2027, 1, 15, 14)
    assert quiet_end(utc(2027, 1, 15, 12, 59), LISBON, *lunch) is None
    assert quiet_end(utc(2027, 1, 15, 14), LISBON, *lunch) is None
    # 23:00 to 01:30 the night 01:30 does not exist: it ends at 02:30 WEST, one hour of real time later
    assert quiet_end(utc(2027, 3, 27, 23, 30), LISBON, time(23), time(1, 30)) == utc(2027, 3, 28, 1, 30)


def preferences(timezone: str = "", quiet: tuple[str, str] | None = None) -> pb.Preferences:
    found = pb.Preferences(email=True, push=True, timezone=timezone)
    if quiet is not None:
        found.quiet_hours.start, found.quiet_hours.end = quiet
    return found


def request(**fields: Any) -> SendRequest:
    body = {"user_id": str(uuid.uuid4()), "channel": "email", "template": "welcome", **fields}
    return SendRequest.model_validate(body)


NOW = utc(2027, 1, 15, 12)


def test_without_send_at_or_quiet_hours_it_is_due_now() -> None:
    assert timing(request(), preferences("Europe/Lisbon"), NOW).due is None
    assert timing(request(send_at="2027-01-15T11:59:58Z"), preferences(), NOW).due is None


def test_an_instant_is_due_then_whatever_the_timezone() -> None:
    found = timing(request(send_at="2027-01-15T14:00:00+01:00"), preferences("America/New_York"), NOW)
    assert found.due == utc(2027, 1, 15, 13)


def test_a_local_time_is_due_in_each_recipients_timezone() -> None:
    nine = request(send_at={"local_time": "09:00"})
    assert timing(nine, preferences(), NOW).due == utc(2027, 1, 16, 9)  # UTC when unset
    assert timing(nine, preferences("America/New_York"), NOW).due == utc(2027, 1, 15, 14)
    assert timing(nine, preferences("Asia/Tokyo"), NOW).due == utc(2027, 1, 16, 0)
    dated = request(send_at={"local_time": "09:00", "date": "2027-03-28"})
    assert timing(dated, preferences("Europe/Lisbon"), NOW).due == utc(2027, 3, 28, 8)


def test_a_local_time_already_past_for_a_recipient_is_due_now() -> None:
    today = request(send_at={"local_time": "09:00", "date": "2027-01-15"})
    assert timing(today, preferences("Europe/Lisbon"), NOW).due is None
    assert timing(today, preferences("America/New_York"), NOW).due == utc(2027, 1, 15, 14)


def test_quiet_hours_defer_low_and_normal_to_their_end_plus_jitter() -> None:
    night = preferences("America/New_York", ("22:00", "07:00"))
    late = utc(2027, 1, 16, 4)  # 23:00 in New York
    for priority in ("low", "normal"):
        found = timing(request(priority=priority), night, late, jitter=lambda: 42.0)
        assert found == type(found)(utc(2027, 1, 16, 12, 0, 42))
    assert timing(request(priority="high"), night, late).due is None


def test_a_send_at_inside_quiet_hours_is_deferred_too() -> None:
    night = preferences("Europe/Lisbon", ("22:00", "07:00"))
    found = timing(request(send_at={"local_time": "23:00"}), night, NOW, jitter=lambda: 0.0)
    assert found.due == utc(2027, 1, 16, 7)


def test_one_expiring_before_quiet_hours_end_is_skipped() -> None:
    night = preferences("Europe/Lisbon", ("22:00", "07:00"))
    late = utc(2027, 1, 15, 23)
    found = timing(request(expires_at="2027-01-16T07:00:00Z"), night, late, jitter=lambda: 0.0)
    assert found.due is None
    assert found.reason == QUIET_HOURS_EXPIRED
    kept = timing(request(expires_at="2027-01-16T08:00:00Z"), night, late, jitter=lambda: 300.0)
    assert kept.due == utc(2027, 1, 16, 7, 5)


def test_expires_at_not_after_a_recipients_send_at_is_422() -> None:
    expiring = request(send_at={"local_time": "09:00"}, expires_at="2027-01-15T20:00:00Z")
    assert timing(expiring, preferences("America/New_York"), NOW).due == utc(2027, 1, 15, 14)
    with pytest.raises(ProblemError) as refused:
        timing(expiring, preferences("Asia/Tokyo"), NOW)
    assert refused.value.errors == [{"field": "expires_at", "message": "is not after send_at"}]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"send_at": "2027-01-15T11:59:50Z"}, "send_at"),
        ({"send_at": (NOW + timedelta(days=90, seconds=1)).isoformat()}, "send_at"),
        ({"send_at": "2027-01-15T13:00:00Z", "expires_at": "2027-01-15T13:00:00Z"}, "expires_at"),
        ({"send_at": {"local_time": "09:00", "date": "2027-01-13"}}, "send_at.date"),
        ({"send_at": {"local_time": "09:00", "date": "2027-04-16"}}, "send_at.date"),
    ],
)
def test_a_send_at_no_recipient_could_have_is_422(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as refused:
        check_send_at(request(**fields), NOW)
    assert refused.value.status == 422
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == field


@pytest.mark.parametrize(
    "send_at",
    [
        "2027-01-15T11:59:56Z",
        (NOW + timedelta(days=90)).isoformat(),
        {"local_time": "09:00", "date": "2027-01-14"},
        {"local_time": "09:00", "date": "2027-04-15"},
        {"local_time": "09:00"},
    ],
)
def test_a_send_at_within_the_limits_is_accepted(send_at: Any) -> None:
    check_send_at(request(send_at=send_at), NOW)
