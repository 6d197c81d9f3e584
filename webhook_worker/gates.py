"""Per-endpoint gates (docs/design.md §7 "Events out"): a concurrency cap and a circuit breaker for each endpoint,
so a slow or dead endpoint holds a bounded share of the worker's slots, and none while its breaker is open.

An endpoint may hold up to :data:`HELD_PER_SLOT` times its cap of claimed deliveries: ``cap`` being sent, the
rest waiting their turn, so the next one goes as soon as a send ends, without a claim in between. A delivery
waits for at most one timeout before its own attempt starts, so the lease (longer than both) covers it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from delivery.breaker import BreakerState, CircuitBreaker
from webhook_worker.deliveries import EndpointRoom

HELD_PER_SLOT = 2
MAX_IDLE_GATES = 10_000
"""Past this many gates, those of endpoints with nothing in flight and a closed breaker are forgotten."""


class EndpointGate:
    """One endpoint's claimed deliveries, the slots its sends take, and its breaker."""

    def __init__(self, endpoint_id: uuid.UUID, *, cap: int, breaker: CircuitBreaker) -> None:
        self.endpoint_id = endpoint_id
        self.limit = cap * HELD_PER_SLOT
        self.sending = asyncio.Semaphore(cap)
        self.breaker = breaker
        self.held = 0

    def free(self) -> int:
        """How many more deliveries this endpoint may be given now: one probe while half-open, none while open."""
        if not self.breaker.may_call():
            return 0
        if self.breaker.state is BreakerState.HALF_OPEN:
            return 1 if self.held == 0 else 0
        return max(0, self.limit - self.held)


class EndpointGates:
    """The gates of every endpoint this worker has sent to."""

    def __init__(self, *, cap: int, breaker_threshold: int, breaker_pause_seconds: float) -> None:
        self._cap = cap
        self.limit = cap * HELD_PER_SLOT
        """What an endpoint with nothing held may be given."""
        self._threshold = breaker_threshold
        self._pause = breaker_pause_seconds
        self._gates: dict[uuid.UUID, EndpointGate] = {}

    def gate(self, endpoint_id: uuid.UUID) -> EndpointGate:
        """The gate of ``endpoint_id``, made on first use."""
        gate = self._gates.get(endpoint_id)
        if gate is None:
            breaker = CircuitBreaker(
                f"webhook endpoint {endpoint_id}", threshold=self._threshold, pause_seconds=self._pause
            )
            gate = self._gates[endpoint_id] = EndpointGate(endpoint_id, cap=self._cap, breaker=breaker)
        return gate

    def room(self) -> EndpointRoom:
        """What a claim may take now, endpoint by endpoint."""
        if len(self._gates) > MAX_IDLE_GATES:
            self._forget_idle()
        full, partly, free = [], [], []
        for endpoint_id, gate in self._gates.items():
            room = gate.free()
            if room == 0:
                full.append(endpoint_id)
            elif room < self.limit:
                partly.append(endpoint_id)
                free.append(room)
        return EndpointRoom(full=full, partly=partly, free=free)

    def breaker_states(self) -> Counter[BreakerState]:
        """How many endpoints' breakers are in each state."""
        return Counter(gate.breaker.state for gate in self._gates.values())

    def _forget_idle(self) -> None:
        self._gates = {
            endpoint_id: gate
            for endpoint_id, gate in self._gates.items()
            if gate.held or gate.breaker.state is not BreakerState.CLOSED
        }
