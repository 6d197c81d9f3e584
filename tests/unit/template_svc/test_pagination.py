"""template_svc's page tokens: the (slug, channel, locale) keyset position, and tokens handed out before
keep working."""

from __future__ import annotations

import pytest

from template_svc.pagination import decode_page_token, encode_page_token
from template_svc.repository import TemplateKey

ISSUED = {
    "WyJ0MSIsIndlbGNvbWUiLCJlbWFpbCIsInB0LUJSIl0": TemplateKey("welcome", "email", "pt-BR"),
    "WyJ0MSIsIlx1MDBmM3JmXHUwMGUzIiwicHVzaCIsImVuIl0": TemplateKey("órfã", "push", "en"),
}
"""Tokens the service issued before the shared page-token helper, with the keys they carry."""


@pytest.mark.parametrize(("token", "key"), ISSUED.items())
def test_issued_tokens_still_decode_and_encode_the_same(token: str, key: TemplateKey) -> None:
    assert decode_page_token(token) == key
    assert encode_page_token(key) == token


def test_an_empty_token_is_the_first_page() -> None:
    assert decode_page_token("") is None


@pytest.mark.parametrize("bad", ["garbage!", "WyJ4Il0", "WyJ0MSIsMSwyLDNd", "é", "e30"])
def test_anything_else_is_refused_with_the_field_message(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^is not a page token this service issued$"):
        decode_page_token(bad)
