"""The users listing's page token: it carries the last id of the previous page (keyset on the time-ordered id,
so no page is an offset scan)."""

from __future__ import annotations

import uuid

from common.page_tokens import PageTokens

_VERSION = b"\x01"


def _unpack(raw: bytes) -> uuid.UUID:
    """The id in a token's bytes: the version byte, then the id's 16 bytes."""
    if len(raw) != 17 or raw[:1] != _VERSION:
        raise ValueError("not a version 1 user page token")
    return uuid.UUID(bytes=raw[1:])


_TOKENS = PageTokens[uuid.UUID](pack=lambda last_id: _VERSION + last_id.bytes, unpack=_unpack)


def encode_page_token(last_id: uuid.UUID) -> str:
    """The token of the page after the one that ended with ``last_id``."""
    return _TOKENS.encode(last_id)


def decode_page_token(token: str) -> uuid.UUID | None:
    """The id after which the page starts: None for the first page; ValueError for a token we did not issue."""
    return _TOKENS.decode(token) if token else None
