"""Notification ids are UUIDv7: ``first_id_at`` bounds the ids of a moment from below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.ids import first_id_at, new_notification_id


def test_ids_made_before_a_moment_sort_before_its_first_id_and_later_ones_after() -> None:
    before = new_notification_id()
    bound = first_id_at(datetime.now(UTC) + timedelta(milliseconds=5))
    assert before < bound
    assert bound.version == 7
    assert first_id_at(datetime.now(UTC) - timedelta(days=1)) < new_notification_id()


def test_a_moment_before_1970_bounds_from_below_every_id() -> None:
    oldest = first_id_at(datetime(1900, 1, 1, tzinfo=UTC))
    assert oldest == first_id_at(datetime(1970, 1, 1, tzinfo=UTC))
    assert oldest < new_notification_id()
