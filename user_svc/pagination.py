"""Listing pages: an opaque page token that carries the last id of the previous page (keyset on the
time-ordered id, so no page is an offset scan), and the page size rules of ``ListUsersRequest``."""

from __future__ import annotations

import base64
import binascii
import uuid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_VERSION = b"\x01"


def encode_page_token(last_id: uuid.UUID) -> str:
    """The token of the page after the one that ended with ``last_id``."""
    return base64.urlsafe_b64encode(_VERSION + last_id.bytes).decode().rstrip("=")


def decode_page_token(token: str) -> uuid.UUID | None:
    """The id after which the page starts: None for the first page; ValueError for a token we did not issue."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("is not a page token this service issued") from None
    if len(raw) != 17 or raw[:1] != _VERSION:
        raise ValueError("is not a page token this service issued")
    return uuid.UUID(bytes=raw[1:])


def page_size(requested: int) -> int:
    """0 means the default; above the maximum is capped; below 0 is a ValueError."""
    if requested < 0:
        raise ValueError("must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
