"""The page-token helper every listing uses: unpadded url-safe base64 of the bytes the listing packs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.page_tokens import InvalidPageToken, PageTokens, page_size


def _unpack(raw: bytes) -> bytes:
    if raw[:1] != b"v":
        raise ValueError("untagged")
    return raw[1:]


TOKENS = PageTokens[bytes](pack=lambda key: b"v" + key, unpack=_unpack)


@given(st.binary(max_size=64))
def test_any_key_round_trips_through_a_url_safe_unpadded_token(key: bytes) -> None:
    token = TOKENS.encode(key)
    assert TOKENS.decode(token) == key
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_wire_format_is_base64url_of_the_packed_bytes_without_padding() -> None:
    assert TOKENS.encode(b"\xfb\xff") == "dvv_"  # '_' and not '/': url-safe
    assert TOKENS.encode(b"k") == "dms"  # "dms=" unpadded


@pytest.mark.parametrize("garbage", ["é", "d", "AAAA", "%%%", "dmsé"])
def test_garbage_is_refused_as_a_foreign_token(garbage: str) -> None:
    with pytest.raises(InvalidPageToken, match=r"^is not a page token this service issued$"):
        TOKENS.decode(garbage)


def test_a_foreign_token_is_a_value_error() -> None:
    assert issubclass(InvalidPageToken, ValueError)  # what the services' field checks catch


@pytest.mark.parametrize(("requested", "size"), [(0, 20), (1, 1), (100, 100), (101, 100), (10_000, 100)])
def test_page_size_defaults_and_caps(requested: int, size: int) -> None:
    assert page_size(requested) == size


def test_a_negative_page_size_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        page_size(-1)
