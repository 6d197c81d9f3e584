"""A broadcast's notification ids: one per subscriber, the same on every computation, each a UUIDv7 of the
broadcast's creation millisecond; the broadcast states the API names are the table's, and every notification
status counts in one of its counters."""

from __future__ import annotations

import uuid
from typing import get_args

from common.ids import new_notification_id
from common.notification_tables import BroadcastState, Status
from gateway.broadcasts.ids import id_key, recipient_id
from gateway.broadcasts.store import COUNTED, COUNTERS
from gateway.schemas.broadcasts import BroadcastStateName


def test_each_subscriber_has_one_id_of_the_broadcasts_millisecond() -> None:
    key = id_key("a deployment secret")
    broadcast_id = new_notification_id()
    users = [uuid.uuid4() for _ in range(1000)]

    ids = [recipient_id(key, broadcast_id, user) for user in users]

    assert ids == [recipient_id(key, broadcast_id, user) for user in users]
    assert len(set(ids)) == len(users)
    assert {(found.version, found.variant) for found in ids} == {(7, uuid.RFC_4122)}
    assert {found.int >> 80 for found in ids} == {broadcast_id.int >> 80}
    assert recipient_id(id_key("another secret"), broadcast_id, users[0]) != ids[0]
    assert recipient_id(key, new_notification_id(), users[0]) != ids[0]


def test_the_api_names_every_broadcast_state() -> None:
    assert get_args(BroadcastStateName) == tuple(state.value for state in BroadcastState)


def test_every_notification_status_adds_to_one_counter() -> None:
    assert set(COUNTED) == {status.value for status in Status}
    assert set(COUNTED.values()) == set(COUNTERS)
