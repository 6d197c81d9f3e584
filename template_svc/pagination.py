"""Listing pages: an opaque page token that carries the (slug, channel, locale) of the last template of the
previous page, so each page is a keyset read on the unique index, never an offset scan."""

from __future__ import annotations

import base64
import binascii
import json

from template_svc.repository import TemplateKey

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_VERSION = "t1"
_NOT_OURS = "is not a page token this service issued"


def encode_page_token(last: TemplateKey) -> str:
    """The token of the page after the one that ended with ``last``."""
    raw = json.dumps([_VERSION, last.slug, last.channel, last.locale], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> TemplateKey | None:
    """Where the page starts after: None for the first page; ValueError for a token we did not issue."""
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise ValueError(_NOT_OURS) from None
    if not (isinstance(decoded, list) and len(decoded) == 4 and decoded[0] == _VERSION):
        raise ValueError(_NOT_OURS)
    if not all(isinstance(part, str) for part in decoded[1:]):
        raise ValueError(_NOT_OURS)
    return TemplateKey(decoded[1], decoded[2], decoded[3])


def page_size(requested: int) -> int:
    """0 means the default; above the maximum is capped; below 0 is a ValueError."""
    if requested < 0:
        raise ValueError("must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
