"""Per-endpoint room: what a claim may give each endpoint, by its held deliveries and its breaker."""

from __future__ import annotations

import uuid

from webhook_worker.gates import HELD_PER_SLOT, EndpointGates


def test_room_follows_held_deliveries_and_the_breaker() -> None:
    gates = EndpointGates(cap=2, breaker_threshold=1, breaker_pause_seconds=0.0)
    idle, busy, full, dead = (uuid.uuid4() for _ in range(4))
    gates.gate(idle)
    gates.gate(busy).held = 1
    gates.gate(full).held = 2 * HELD_PER_SLOT
    gates.gate(dead).breaker.record_failure()  # opens; with no pause it reads as half-open at once

    room = gates.room()

    assert gates.limit == 2 * HELD_PER_SLOT
    assert room.full == [full]
    assert dict(zip(room.partly, room.free, strict=True)) == {busy: gates.limit - 1, dead: 1}


def test_an_open_breaker_leaves_no_room() -> None:
    gates = EndpointGates(cap=2, breaker_threshold=1, breaker_pause_seconds=60.0)
    dead = uuid.uuid4()
    gates.gate(dead).breaker.record_failure()

    assert gates.room().full == [dead]
