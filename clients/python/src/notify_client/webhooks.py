"""Verifying webhook deliveries (Standard Webhooks, docs/api.md §9): the signature over the exact bytes received,
a timestamp within five minutes of this clock, and any of several signatures while a secret is rotated. Only the
standard library: a receiver needs nothing else."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping

from notify_client.models import WebhookEvent

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
TOLERANCE_SECONDS = 300
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class WebhookVerificationError(Exception):
    """A delivery that is not provably the gateway's: a header missing, a stale timestamp, no matching
    signature."""


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a delivery under ``secret`` (``whsec_`` + base64 of the key)."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secrets: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise :class:`WebhookVerificationError` unless ``body`` with ``headers`` (any case) was signed with one of
    ``secrets`` (a receiver that rotates keeps the old and the new) within ``tolerance_seconds`` of ``now``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get(ID_HEADER)
    timestamp_text = lowered.get(TIMESTAMP_HEADER)
    signatures = lowered.get(SIGNATURE_HEADER)
    if not webhook_id or not timestamp_text or not signatures:
        raise WebhookVerificationError("a webhook-id, webhook-timestamp or webhook-signature header is missing")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far from now")
    received = [candidate.encode() for candidate in signatures.split()]
    for secret in [secrets] if isinstance(secrets, str) else secrets:
        expected = sign(secret, webhook_id, timestamp, body).encode()
        if any(hmac.compare_digest(expected, candidate) for candidate in received):
            return
    raise WebhookVerificationError("no signature matches the secret")


def construct_event(
    secrets: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """:func:`verify`, then the delivery's body parsed: parse only what was verified."""
    verify(secrets, headers, body, tolerance_seconds=tolerance_seconds, now=now)
    return WebhookEvent.model_validate(json.loads(body))
