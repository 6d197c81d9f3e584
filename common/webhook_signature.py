"""Standard Webhooks signatures (docs/api.md "Webhooks"): the gateway's webhook_worker signs every delivery with
:func:`signed_headers`. Receivers verify with the Python client's ``notify_client.verify`` (clients/python; the dev
receiver does), a separately distributed package that carries its own copy of :func:`sign`. A secret is
``whsec_`` + base64 of 32 random bytes; a signature is ``v1,`` + base64(HMAC-SHA256(secret bytes,
"{webhook-id}.{webhook-timestamp}.{body}"))."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    """A fresh endpoint secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of one delivery under ``secret``."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secrets_in_use: Iterable[str], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a delivery, signed with every secret in use (two while a rotation overlaps)."""
    signatures = " ".join(sign(secret, webhook_id, timestamp, body) for secret in secrets_in_use)
    return {ID_HEADER: webhook_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}
