"""The worker's DKIM signatures, checked by dkimpy's verifier against the TXT record the API publishes: the
required headers are covered (both List-Unsubscribe headers when present), and a changed body or header
fails."""

from __future__ import annotations

import re
from functools import cache

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common.dkim_keys import dns_record_value, generate_key, record_name
from email_worker.dkim_signing import DkimSigner
from email_worker.message import build_email, from_header
from tests.unit.email_worker.test_email_message import envelope

DOMAIN = "mail.example.com"
SELECTOR = "ns202612"
UNSUBSCRIBE = (
    b"List-Unsubscribe: <https://notify.example.com/u/abc>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
)


@cache
def key() -> rsa.RSAPrivateKey:
    return generate_key()


def dns(name: bytes, timeout: int = 5) -> bytes | None:
    """dkimpy's DNS lookup, answered from the record ``PUT /v1/sending-domains`` tells the operator to publish."""
    published = {record_name(SELECTOR, DOMAIN): dns_record_value(key())}
    return published.get(name.decode().rstrip("."), "").encode() or None


def email(**content: str) -> bytes:
    sender = from_header(f"Example <hello@{DOMAIN}>")
    return build_email(envelope(**content), sender=sender, domain="notifications.local")


def signer() -> DkimSigner:
    return DkimSigner(DOMAIN, SELECTOR, key())


def signed_headers(message: bytes) -> list[str]:
    found = re.search(rb"\bh=([^;]+);", message)
    assert found is not None
    return [name.strip().decode() for name in re.sub(rb"\s+", b"", found.group(1)).split(b":")]


def test_a_signed_email_verifies_and_covers_the_required_headers() -> None:
    message = signer().sign(email(reply_to="help@example.com"))
    assert dkim.verify(message, dnsfunc=dns)
    assert message.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=mail.example.com;")
    required = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "reply-to"}
    assert required <= set(signed_headers(message))
    assert signed_headers(message).count("from") == 2  # a second From cannot be added


def test_both_list_unsubscribe_headers_are_signed_when_present() -> None:
    plain = email()
    head, _, rest = plain.partition(b"MIME-Version:")
    message = signer().sign(head + UNSUBSCRIBE + b"MIME-Version:" + rest)
    assert dkim.verify(message, dnsfunc=dns)
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_headers(message))
    changed = message.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Clicks")
    assert not dkim.verify(changed, dnsfunc=dns)
    assert "list-unsubscribe" not in signed_headers(signer().sign(plain))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda message: message.replace(b"Hello Ada", b"Hello Eve"),
        lambda message: message.replace(b"Subject: Hi Ada", b"Subject: Hi Eve"),
        lambda message: message.replace(b"From: Example <hello@", b"From: Example <evil@"),
    ],
    ids=["body", "subject", "from"],
)
def test_a_changed_message_fails(tamper) -> None:  # type: ignore[no-untyped-def]
    message = signer().sign(email())
    assert dkim.verify(message, dnsfunc=dns)
    assert not dkim.verify(tamper(message), dnsfunc=dns)


def test_another_key_at_the_selector_fails() -> None:
    other = DkimSigner(DOMAIN, SELECTOR, generate_key())
    assert not dkim.verify(other.sign(email()), dnsfunc=dns)


def test_a_non_ascii_subject_and_sender_name_verify() -> None:
    message = signer().sign(email(subject="Olá, Ada — bem-vinda", from_name="Équipe", from_email=f"a@{DOMAIN}"))
    assert dkim.verify(message, dnsfunc=dns)
