"""The unsubscribe token ring: what one key signs every key of the ring verifies, rotation keeps old links
working while their key stays in the ring, and nothing else verifies."""

from __future__ import annotations

import uuid

import pytest

from unsubscribe.tokens import InvalidToken, KeyRing, Unsubscription, unsubscribe_url

WHO = Unsubscription(uuid.uuid4(), uuid.uuid4(), "newsletter")


def test_a_signed_token_verifies_to_what_it_names_and_is_url_safe() -> None:
    ring = KeyRing.parse("k1:first-secret")
    token = ring.sign(WHO)
    assert ring.verify(token) == WHO
    assert all(c.isalnum() or c in "-_." for c in token)
    assert unsubscribe_url("https://n.example.com/", token) == f"https://n.example.com/u/{token}"


def test_rotation_new_key_signs_and_retired_key_verifies_until_removed() -> None:
    old = KeyRing.parse("k1:first-secret")
    issued = old.sign(WHO)
    rotated = KeyRing.parse("k2:second-secret, k1:first-secret")
    assert rotated.verify(issued) == WHO
    assert rotated.sign(WHO).startswith("k2.")
    assert KeyRing.parse("k2:second-secret").sign(WHO) == rotated.sign(WHO)
    with pytest.raises(InvalidToken):
        KeyRing.parse("k2:second-secret").verify(issued)


def test_another_secret_under_the_same_key_id_does_not_verify() -> None:
    token = KeyRing.parse("k1:first-secret").sign(WHO)
    with pytest.raises(InvalidToken):
        KeyRing.parse("k1:an-attackers-secret").verify(token)


def test_any_change_to_a_token_is_refused() -> None:
    ring = KeyRing.parse("k1:first-secret")
    kid, payload, mac = ring.sign(WHO).split(".")
    other = ring.sign(Unsubscription(WHO.application_id, WHO.user_id, "offers")).split(".")[1]
    for forged in (
        f"{kid}.{other}.{mac}",  # another category under this token's signature
        f"{kid}.{payload}.{mac[:-1]}",
        f"{kid}.{payload}",
        f"{kid}.{payload}.{mac}.x",
        f"nokey.{payload}.{mac}",
        "",
        "k1..",
        "ü" * 10,
        "a" * 500,
    ):
        with pytest.raises(InvalidToken):
            ring.verify(forged)


@pytest.mark.parametrize("value", ["", "no-colon", ":secret", "k1:", "bad kid:s", "k1:a,k1:b"])
def test_a_malformed_ring_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        KeyRing.parse(value)


def test_only_category_keys_are_signed() -> None:
    with pytest.raises(ValueError, match="category"):
        KeyRing.parse("k1:s").sign(Unsubscription(WHO.application_id, WHO.user_id, "Not A Key"))
