"""Sending domains' DKIM keys: the published record, provided keys, and keys sealed at rest."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from common.dkim_keys import KeySealer, UnusableKey, dns_record_value, generate_key, load_key, private_pem, record_name


def test_the_record_publishes_the_public_key() -> None:
    key = generate_key()
    value = dns_record_value(key)
    assert value.startswith("v=DKIM1; k=rsa; p=")
    public = serialization.load_der_public_key(base64.b64decode(value.removeprefix("v=DKIM1; k=rsa; p=")))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()
    assert key.key_size == 2048
    assert record_name("ns202612", "example.com") == "ns202612._domainkey.example.com"


def test_a_provided_pem_loads_and_others_are_refused() -> None:
    key = generate_key()
    assert load_key(private_pem(key)).private_numbers() == key.private_numbers()
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert load_key(pkcs1).private_numbers() == key.private_numbers()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    for pem in (b"not a key", private_pem(ec_key), encrypted):  # type: ignore[arg-type]
        with pytest.raises(UnusableKey):
            load_key(pem)


def test_a_sealed_key_opens_only_with_the_same_secret_application_and_domain() -> None:
    pem = private_pem(generate_key())
    sealed = KeySealer.of("secret one").seal(pem, "app-1", "example.com")
    assert pem not in sealed
    assert KeySealer.of("secret one").open(sealed, "app-1", "example.com") == pem
    for sealer, application, domain in [
        (KeySealer.of("secret two"), "app-1", "example.com"),
        (KeySealer.of("secret one"), "app-2", "example.com"),
        (KeySealer.of("secret one"), "app-1", "example.org"),
    ]:
        with pytest.raises(ValueError, match="does not open"):
            sealer.open(sealed, application, domain)
