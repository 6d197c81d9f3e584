"""The id of a topic send's notification to one subscriber: deterministic, so a fan-out that resumes after a
crash writes a page again without writing anyone twice (``ON CONFLICT (id) DO NOTHING``).

A UUIDv7 whose time is the broadcast's creation millisecond and whose 74 random bits are the first bits of
HMAC-SHA256(key, broadcast id ‖ user id): time-ordered like every id, unguessable without the key."""

from __future__ import annotations

import hashlib
import hmac
import uuid

_PURPOSE = b"broadcast notification ids"
_RANDOM_BITS = 74
_RAND_B_BITS = 62


def id_key(secret: str) -> bytes:
    """The HMAC key of recipient ids, derived from a deployment secret for this purpose alone (every replica
    derives the same one)."""
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def recipient_id(key: bytes, broadcast_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """The notification id of broadcast ``broadcast_id`` to user ``user_id``."""
    milliseconds = broadcast_id.int >> 80
    digest = hmac.new(key, broadcast_id.bytes + user_id.bytes, hashlib.sha256).digest()
    bits = int.from_bytes(digest[:10], "big") >> (80 - _RANDOM_BITS)
    rand_a, rand_b = bits >> _RAND_B_BITS, bits & ((1 << _RAND_B_BITS) - 1)
    return uuid.UUID(int=(milliseconds << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
