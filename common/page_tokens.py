"""Opaque page tokens: the key a listing resumes after, packed to bytes by the listing and carried as unpadded
url-safe base64, so every lister hands out the same kind of token and refuses foreign ones the same way."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class InvalidPageToken(ValueError):
    """A token no listing of ours issued: not base64, or bytes its key does not unpack from."""

    def __init__(self) -> None:
        super().__init__("is not a page token this service issued")


@dataclass(frozen=True)
class PageTokens(Generic[K]):
    """The tokens of one listing: ``pack`` turns its key into bytes, ``unpack`` turns them back and raises
    ValueError for bytes ``pack`` did not make (a version byte or tag in the bytes lets the format change)."""

    pack: Callable[[K], bytes]
    unpack: Callable[[bytes], K]

    def encode(self, key: K) -> str:
        """The token of the page after the one that ended with ``key``."""
        return base64.urlsafe_b64encode(self.pack(key)).rstrip(b"=").decode()

    def decode(self, token: str) -> K:
        """The key ``token`` carries; :class:`InvalidPageToken` for anything :meth:`encode` did not return."""
        try:
            return self.unpack(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:  # binascii.Error, non-ASCII text and the key's own refusals are all ValueErrors
            raise InvalidPageToken() from None


def page_size(requested: int) -> int:
    """The size of a page a gRPC listing returns: 0 means the default, above the maximum is capped, below 0 is a
    ValueError."""
    if requested < 0:
        raise ValueError("must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
