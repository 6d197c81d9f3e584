"""Listing pages: an opaque page token that carries the (slug, channel, locale) of the last template of the
previous page, so each page is a keyset read on the unique index, never an offset scan."""

from __future__ import annotations

import json

from common.page_tokens import PageTokens
from template_svc.repository import TemplateKey

_VERSION = "t1"


def _pack(last: TemplateKey) -> bytes:
    """The key as a compact JSON list behind the format's tag."""
    return json.dumps([_VERSION, last.slug, last.channel, last.locale], separators=(",", ":")).encode()


def _unpack(raw: bytes) -> TemplateKey:
    """The key :func:`_pack` wrote; ValueError for any other bytes."""
    decoded = json.loads(raw)
    if not (isinstance(decoded, list) and len(decoded) == 4 and decoded[0] == _VERSION):
        raise ValueError("not a t1 template page token")
    if not all(isinstance(part, str) for part in decoded[1:]):
        raise ValueError("not a t1 template page token")
    return TemplateKey(decoded[1], decoded[2], decoded[3])


_TOKENS = PageTokens(pack=_pack, unpack=_unpack)


def encode_page_token(last: TemplateKey) -> str:
    """The token of the page after the one that ended with ``last``."""
    return _TOKENS.encode(last)


def decode_page_token(token: str) -> TemplateKey | None:
    """Where the page starts after: None for the first page; ValueError for a token we did not issue."""
    return _TOKENS.decode(token) if token else None
