"""The VERP return path: made by the email worker, checked by inbound."""

from __future__ import annotations

import uuid

import pytest

from delivery.return_path import MAX_LOCAL_PART, ReturnPath

RETURN_PATH = ReturnPath.of("Bounces.Example.com", "a signing key of thirty-two bytes!")
NOTIFICATION = "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01"


def test_an_address_names_its_notification_and_fits_in_a_local_part() -> None:
    address = RETURN_PATH.address(NOTIFICATION)
    local, _, domain = address.partition("@")
    assert domain == "bounces.example.com"
    assert local.startswith("b+0192f5d49c2a7f108b3e5a6c7d8e9f01.")
    assert len(local) <= MAX_LOCAL_PART
    assert RETURN_PATH.notification_id(address) == uuid.UUID(NOTIFICATION)


def test_case_does_not_matter() -> None:
    assert RETURN_PATH.notification_id(RETURN_PATH.address(NOTIFICATION).upper()) == uuid.UUID(NOTIFICATION)


def test_the_tag_depends_on_the_key() -> None:
    other = ReturnPath.of("bounces.example.com", "another signing key of 32 bytes!!")
    assert other.notification_id(RETURN_PATH.address(NOTIFICATION)) is None


@pytest.mark.parametrize(
    "address",
    [
        "b+0192f5d49c2a7f108b3e5a6c7d8e9f01.aaaaaaaa@bounces.example.com",  # forged tag
        "b+0192f5d49c2a7f108b3e5a6c7d8e9f02." + "x" * 8 + "@bounces.example.com",
        "b+0192f5d49c2a7f108b3e5a6c7d8e9f01@bounces.example.com",  # no tag
        "postmaster@bounces.example.com",
        "b+" + "0" * 200 + ".aaaaaaaa@bounces.example.com",  # oversize
        "not an address",
        "",
    ],
)
def test_anything_we_did_not_make_is_refused(address: str) -> None:
    assert RETURN_PATH.notification_id(address) is None


def test_a_valid_tag_at_another_domain_is_refused() -> None:
    local = RETURN_PATH.address(NOTIFICATION).partition("@")[0]
    assert RETURN_PATH.notification_id(f"{local}@example.com") is None


def test_a_tag_for_another_notification_is_refused() -> None:
    tag = RETURN_PATH.address(NOTIFICATION).partition("@")[0].rpartition(".")[2]
    assert RETURN_PATH.notification_id(f"b+{uuid.uuid4().hex}.{tag}@bounces.example.com") is None


def test_the_feedback_address() -> None:
    assert RETURN_PATH.feedback_address == "fbl@bounces.example.com"
    assert RETURN_PATH.is_feedback_address("FBL@bounces.example.com")
    assert not RETURN_PATH.is_feedback_address("fbl@example.com")
