"""Reading a message of ``failed.queue``: which notification it is, why and after how many attempts it was
given up, and the queue it came from (docs/design.md §3).

A worker dead-letters with headers ``x-failure-reason``, ``x-failure-detail``, ``x-attempts``,
``x-original-routing-key`` and ``x-dead-letter-id`` (a UUIDv7 made when it gave up: the message's key in the
``dead_letters`` table, so a redelivered copy is stored once and a later failure of the same notification is
a row of its own); a message the broker itself dead-lettered (the work queues' safety-net
``x-dead-letter-exchange``) carries ``x-death`` instead. Either way the body is the envelope as it was
published, so the channel in it names the original queue when no header does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.channels import Channel
from common.envelope import EnvelopeError, decode_envelope
from common.ids import parse_uuid
from notification.v1 import notification_pb2 as pb

DEAD_LETTER_ID_HEADER = "x-dead-letter-id"


@dataclass(frozen=True)
class DeadLetter:
    """One message of the DLQ as an operator needs to see it."""

    notification_id: str | None
    routing_key: str | None
    """Where it goes back to (``email`` or ``push`` on ``notifications.direct``); None when unknown."""
    reason: str
    detail: str
    attempts: int | None
    envelope: pb.MessageEnvelope | None
    """The decoded envelope; None for poison (a body that is not an envelope), which cannot be replayed."""
    problem: str | None = None
    """Why the body is not a usable envelope."""
    key: str = ""
    """What identifies this dead-lettering: the same for every redelivered copy of the message."""
    failed_at: datetime | None = None
    """When it was given up, when the headers tell."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _death_routing_key(headers: Mapping[str, Any]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        keys = deaths[0].get("routing-keys")
        if isinstance(keys, list) and keys:
            return _text(keys[0])
    return None


def _channel_routing_key(envelope: pb.MessageEnvelope) -> str | None:
    """The work queue's routing key of the envelope's channel; None for a channel this code does not know."""
    try:
        return Channel.from_proto(envelope.channel)
    except ValueError:
        return None


def _key_and_time(body: bytes, headers: Mapping[str, Any]) -> tuple[str, datetime | None]:
    """The message's ``x-dead-letter-id`` and the time in it; without one (the broker dead-lettered it, or an
    older worker did), a digest of the body and headers (``x-death`` counts and times each death)."""
    marked = parse_uuid(_text(headers.get(DEAD_LETTER_ID_HEADER)) or "")
    if marked is not None and marked.version == 7:
        return str(marked), datetime.fromtimestamp((marked.int >> 80) / 1000, UTC)
    digest = hashlib.sha256(body)
    digest.update(repr(sorted((str(key), repr(value)) for key, value in headers.items())).encode())
    return f"sha256:{digest.hexdigest()}", None


def read_dead_letter(body: bytes, headers: Mapping[str, Any] | None, message_id: str | None) -> DeadLetter:
    """The :class:`DeadLetter` of a DLQ message's body, headers and ``message_id`` property."""
    headers = headers or {}
    envelope: pb.MessageEnvelope | None
    problem = None
    try:
        envelope = decode_envelope(body)
    except EnvelopeError as error:
        envelope, problem = None, str(error)
    routing_key = _text(headers.get("x-original-routing-key")) or _death_routing_key(headers)
    if envelope is not None:
        routing_key = routing_key or _channel_routing_key(envelope)
    attempts = headers.get("x-attempts")
    reason = _text(headers.get("x-failure-reason"))
    if reason is None and "x-death" in headers:
        deaths = headers["x-death"]
        reason = f"broker: {_text(deaths[0].get('reason')) if isinstance(deaths, list) and deaths else 'dead-lettered'}"
    key, failed_at = _key_and_time(body, headers)
    return DeadLetter(
        notification_id=envelope.notification_id if envelope is not None else message_id,
        routing_key=routing_key,
        reason=reason or "unknown",
        detail=_text(headers.get("x-failure-detail")) or "",
        attempts=int(attempts) if isinstance(attempts, int) else None,
        envelope=envelope,
        problem=problem,
        key=key,
        failed_at=failed_at,
    )
