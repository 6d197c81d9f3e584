"""Unsubscribe tokens: who (application and user) opts out of what (a category), signed with a key ring.

A token is ``<kid>.<payload>.<mac>``: ``payload`` is base64url of the application id (16 bytes), the user id (16
bytes) and the category key (UTF-8); ``mac`` is base64url of the first 16 bytes of HMAC-SHA256 under the key
``kid`` over ``kid.payload``. Every character is URL-safe, so a token is a path segment as it is.

The ring (``UNSUBSCRIBE_SIGNING_KEYS`` = ``kid:secret,kid2:secret2``) signs with its first key and verifies
with any of them: to rotate, put a new key first and keep the old one in the ring for at least 60 days
(docs/operations.md "Unsubscribe keys"). A token carries no expiry: an unsubscribe link must keep working for
as long as the mail may be read, and a key taken out of the ring retires every token it signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

RING_VARIABLE = "UNSUBSCRIBE_SIGNING_KEYS"
MAC_BYTES = 16
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_TOKEN_CHARS = 200
"""Longer than any token this module makes (2 + 32 + 128 + 22 characters at most)."""


class InvalidToken(ValueError):
    """Not a token of this ring: malformed, forged, or signed by a key no longer in it."""


@dataclass(frozen=True, slots=True)
class Unsubscription:
    """What a token names: the user of the application who opts out of the category's email."""

    application_id: uuid.UUID
    user_id: uuid.UUID
    category: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None


class KeyRing:
    """The signing keys by id, the first one signing."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the ring needs at least one key")
        self._keys = dict(keys)
        if len(self._keys) != len(keys):
            raise ValueError("two keys share an id")
        self._signing_kid = keys[0][0]

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """The ring of ``kid:secret,kid2:secret2``; ``ValueError`` naming what is wrong."""
        keys = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            kid, separator, secret = item.partition(":")
            if not separator or not _KID.match(kid) or not secret:
                raise ValueError("each key is kid:secret, the kid 1-32 of A-Z, a-z, 0-9, '_' and '-'")
            keys.append((kid, secret.encode()))
        return cls(keys)

    def named_secrets(self) -> dict[str, str]:
        """Every secret by ``UNSUBSCRIBE_SIGNING_KEYS[<kid>]``, for the settings' production checks."""
        return {f"{RING_VARIABLE}[{kid}]": secret.decode() for kid, secret in self._keys.items()}

    def _mac(self, kid: str, payload: str) -> str:
        digest = hmac.new(self._keys[kid], f"{kid}.{payload}".encode("ascii"), hashlib.sha256).digest()
        return _b64(digest[:MAC_BYTES])

    def sign(self, unsubscription: Unsubscription) -> str:
        """The token of ``unsubscription``, signed with the ring's first key."""
        if not _CATEGORY.match(unsubscription.category):
            raise ValueError(f"{unsubscription.category!r} is not a category key")
        raw = unsubscription.application_id.bytes + unsubscription.user_id.bytes + unsubscription.category.encode()
        payload = _b64(raw)
        return f"{self._signing_kid}.{payload}.{self._mac(self._signing_kid, payload)}"

    def verify(self, token: str) -> Unsubscription:
        """What ``token`` names; :class:`InvalidToken` unless a key of the ring signed it."""
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise InvalidToken("not a token")
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("not a token")
        kid, payload, mac = parts
        if kid not in self._keys:
            raise InvalidToken("unknown key")
        if not hmac.compare_digest(mac, self._mac(kid, payload)):
            raise InvalidToken("bad signature")
        raw = _unb64(payload)
        try:
            category = raw[32:].decode()
        except UnicodeDecodeError:
            raise InvalidToken("bad category") from None
        if len(raw) <= 32 or not _CATEGORY.match(category):
            raise InvalidToken("bad category")
        return Unsubscription(uuid.UUID(bytes=raw[:16]), uuid.UUID(bytes=raw[16:32]), category)


def unsubscribe_url(public_base_url: str, token: str) -> str:
    """The one-click URL of ``token`` under the gateway's public address."""
    return f"{public_base_url.rstrip('/')}/u/{token}"
