"""The gateway's send gate as the tests build it: limits of their choosing, fresh applications and users."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from gateway.limits import SendGate


def send_gate(redis: Redis, *, application_limit: int = 100, user_limit: int = 100, window: float = 60.0) -> SendGate:
    """A gate with these limits per ``window`` seconds (idempotency records for 60 s, claims for 5 s)."""
    return SendGate(
        redis,
        application_limit=application_limit,
        user_limit=user_limit,
        window_seconds=window,
        idempotency_ttl_seconds=60,
        claim_seconds=5,
    )


def fresh_caller() -> tuple[str, str]:
    """An application id and a user id no earlier test used."""
    return str(uuid.uuid4()), str(uuid.uuid4())
