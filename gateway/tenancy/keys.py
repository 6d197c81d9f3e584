"""The API key format ``nk_<key id>_<secret>`` (docs/design.md §7 Applications): making one, reading one back
and hashing its secret. Only the key id and the SHA-256 of the secret are stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "nk_"
KEY_ID_BYTES = 8
"""A key id is 16 lower-case hex characters: short, url-safe and free of ``_``, so the key splits at its second
underscore."""
SECRET_BYTES = 32
SHOWN_SECRET_CHARS = 4
"""How much of the secret the display prefix shows: enough to tell keys apart, far too little to use one."""
MAX_KEY_CHARS = 128
"""Longer than any key this module makes; a longer ``X-API-Key`` is refused before anything else is done."""


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """An ``nk_`` key split into its parts."""

    key_id: str
    secret: str

    def matches(self, secret_hash: bytes) -> bool:
        """Whether the secret hashes to ``secret_hash``, compared in constant time."""
        return hmac.compare_digest(hash_secret(self.secret), secret_hash)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: the full key is shown once; the rest is stored."""

    key_id: str
    key: str
    prefix: str
    secret_hash: bytes


def hash_secret(secret: str) -> bytes:
    """SHA-256 of a key's secret: a 256-bit random secret needs no slow hash."""
    return hashlib.sha256(secret.encode()).digest()


def generate_key() -> NewKey:
    """A fresh key with a random id and a secret of :data:`SECRET_BYTES` random bytes (base64url)."""
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    return NewKey(
        key_id=key_id,
        key=f"{KEY_PREFIX}{key_id}_{secret}",
        prefix=f"{KEY_PREFIX}{key_id}_{secret[:SHOWN_SECRET_CHARS]}",
        secret_hash=hash_secret(secret),
    )


def is_issued_key(api_key: str) -> bool:
    """Whether ``api_key`` claims to be a key of this module (it may still be malformed or unknown)."""
    return api_key.startswith(KEY_PREFIX)


def parse_key(api_key: str) -> PresentedKey | None:
    """The parts of an ``nk_`` key, or None when it is not shaped like one (never worth a lookup)."""
    if len(api_key) > MAX_KEY_CHARS or not api_key.startswith(KEY_PREFIX):
        return None
    key_id, separator, secret = api_key[len(KEY_PREFIX) :].partition("_")
    if not separator or len(key_id) != 2 * KEY_ID_BYTES or not secret:
        return None
    if any(character not in "0123456789abcdef" for character in key_id):
        return None
    return PresentedKey(key_id, secret)
