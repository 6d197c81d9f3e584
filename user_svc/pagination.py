"""The listings' page tokens: each carries the last key of the previous page (keyset on the time-ordered user
id or on the topic key, so no page is an offset scan). A version byte tells the listings' tokens apart."""

from __future__ import annotations

import uuid

from common.page_tokens import PageTokens

_VERSION = b"\x01"
_TOPIC_KEY_VERSION = b"\x02"


def _unpack(raw: bytes) -> uuid.UUID:
    """The id in a token's bytes: the version byte, then the id's 16 bytes."""
    if len(raw) != 17 or raw[:1] != _VERSION:
        raise ValueError("not a version 1 user page token")
    return uuid.UUID(bytes=raw[1:])


def _unpack_topic_key(raw: bytes) -> str:
    """The topic key in a token's bytes: the version byte, then the key in UTF-8."""
    if raw[:1] != _TOPIC_KEY_VERSION:
        raise ValueError("not a topic page token")
    return raw[1:].decode()


_TOKENS = PageTokens[uuid.UUID](pack=lambda last_id: _VERSION + last_id.bytes, unpack=_unpack)
_TOPIC_TOKENS = PageTokens[str](pack=lambda key: _TOPIC_KEY_VERSION + key.encode(), unpack=_unpack_topic_key)


def encode_page_token(last_id: uuid.UUID) -> str:
    """The token of the page after the one that ended with ``last_id``."""
    return _TOKENS.encode(last_id)


def decode_page_token(token: str) -> uuid.UUID | None:
    """The id after which the page starts: None for the first page; ValueError for a token we did not issue."""
    return _TOKENS.decode(token) if token else None


def encode_topic_page_token(last_key: str) -> str:
    """The token of the topics page after the one that ended with ``last_key``."""
    return _TOPIC_TOKENS.encode(last_key)


def decode_topic_page_token(token: str) -> str | None:
    """The key after which the topics page starts: None for the first page; ValueError for a foreign token."""
    return _TOPIC_TOKENS.decode(token) if token else None
