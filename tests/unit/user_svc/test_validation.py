"""Request validation, page tokens and the platform mapping: pure logic."""

from __future__ import annotations

import uuid

import pytest

from common.grpc.errors import FieldViolation, InvalidArgument
from notification.v1 import notification_pb2 as pb
from user_svc import messages, pagination, validation
from user_svc.tables import PLATFORMS


@pytest.mark.parametrize("email", ["ada@example.com", "a.b+tag@mail.example.co.uk", "  ADA@Example.COM "])
def test_good_emails_are_trimmed_and_kept(email: str) -> None:
    assert validation.email(email) == email.strip()


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a b@example.com", "ada@-x.com"]
)
def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(ValueError, match="email"):
        validation.email(email)


def test_an_email_over_254_characters_is_refused() -> None:
    with pytest.raises(ValueError):
        validation.email("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com")


def test_password_length_is_counted_in_characters() -> None:
    assert validation.password("ççççççç1") == "ççççççç1"
    with pytest.raises(ValueError, match="at least 8"):
        validation.password("1234567")


@pytest.mark.parametrize("locale", ["en", "pt-BR", "zh-Hant-TW", "fil"])
def test_locales(locale: str) -> None:
    assert validation.locale(locale) == locale


@pytest.mark.parametrize("locale", ["e", "english", "pt_BR", "en-", "../etc"])
def test_bad_locales(locale: str) -> None:
    with pytest.raises(ValueError):
        validation.locale(locale)


def test_checks_report_every_violation_together() -> None:
    checks = validation.Checks()
    assert checks.check("name", validation.name, " Ada ") == "Ada"
    checks.check("email", validation.email, "nope")
    checks.fail("password", "must not be empty")
    with pytest.raises(InvalidArgument) as caught:
        checks.done()
    assert caught.value.violations == (
        FieldViolation("email", "is not a valid email address"),
        FieldViolation("password", "must not be empty"),
    )


def test_page_tokens_round_trip_and_refuse_anything_else() -> None:
    last = uuid.uuid4()
    token = pagination.encode_page_token(last)
    assert "=" not in token
    assert pagination.decode_page_token(token) == last
    assert pagination.decode_page_token("") is None
    for bad in ("!!!", "AAAA", "é", pagination.encode_page_token(last)[:-2], str(last)):
        with pytest.raises(ValueError, match=r"^is not a page token this service issued$"):
            pagination.decode_page_token(bad)


def test_page_tokens_issued_before_the_shared_helper_still_decode() -> None:
    issued, last = "AQGS9dR7HnzDmlE_DSuOShA", uuid.UUID("0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10")
    assert pagination.decode_page_token(issued) == last
    assert pagination.encode_page_token(last) == issued


def test_every_stored_platform_has_an_enum_value_and_back() -> None:
    values = [pb.PLATFORM_ANDROID, pb.PLATFORM_IOS, pb.PLATFORM_WEB]
    assert sorted(messages.platform(value) for value in values) == sorted(PLATFORMS)
    for value in (pb.PLATFORM_UNSPECIFIED, 42):
        with pytest.raises(ValueError):
            messages.platform(value)
