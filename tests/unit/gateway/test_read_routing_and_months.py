"""The rule that sends a read by id to the replica, and the month arithmetic of the partitions."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from common.ids import first_id_at, new_notification_id
from gateway.partitions import Partition, month_start, month_statements, parse_partitions
from gateway.read_routing import REPLICA_AGE_SECONDS, reads_from_replica


def test_only_ids_older_than_the_replica_age_read_from_the_replica() -> None:
    now = time.time()
    fresh = new_notification_id()
    old = first_id_at(datetime.fromtimestamp(now - REPLICA_AGE_SECONDS - 1, UTC))
    assert not reads_from_replica(fresh, now)
    assert reads_from_replica(old, now)
    assert not reads_from_replica(uuid.uuid4(), now), "not a UUIDv7: its time means nothing"


def test_months_roll_over_the_year() -> None:
    assert month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 1) == datetime(2027, 1, 1, tzinfo=UTC)
    assert month_start(datetime(2027, 1, 15, tzinfo=UTC), -1) == datetime(2026, 12, 1, tzinfo=UTC)


def test_months_are_created_from_the_end_of_the_existing_ones() -> None:
    end = first_id_at(datetime(2027, 2, 1, tzinfo=UTC))
    rows = [{"name": "notification_statuses_legacy", "bound": f"FOR VALUES FROM (MINVALUE) TO ('{end}')"}]
    existing = parse_partitions(rows)
    assert existing == [Partition("notification_statuses_legacy", None, end)]

    statements = month_statements(existing, datetime(2027, 1, 20, tzinfo=UTC))

    assert [arguments[0] for _, arguments in statements] == [
        "notification_statuses_p202702",
        "notification_events_p202702",
        "notification_statuses_p202703",
        "notification_events_p202703",
        "notification_statuses_p202704",
        "notification_events_p202704",
    ]
