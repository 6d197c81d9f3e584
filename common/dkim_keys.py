"""DKIM key material of a sending domain: generated RSA key pairs, the DNS TXT record that publishes the public
half, and the private half sealed for the database.

A private key is stored encrypted (AES-256-GCM, the key derived with HKDF-SHA256 from ``DKIM_KEY_SECRET``, the
application id and domain bound as associated data), so a database dump or backup alone signs nothing and a
sealed key copied to another domain or application does not open. The gateway seals (``PUT
/v1/sending-domains/{domain}``); the email worker opens and signs.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RSA_BITS = 2048
"""What receivers verify everywhere (RFC 8301: at least 1024, 2048 recommended) and fits one TXT string set."""
MIN_RSA_BITS = 1024
_NONCE_BYTES = 12


class UnusableKey(ValueError):
    """A provided private key that is not an unencrypted PEM RSA key of at least 1024 bits."""


def generate_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 private key (``rsa-sha256``: Ed25519 alone, RFC 8463, is not verified everywhere yet)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def load_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The key of an unencrypted PEM (PKCS#1 or PKCS#8); :class:`UnusableKey` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise UnusableKey(f"is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnusableKey("is not an RSA key")
    if key.key_size < MIN_RSA_BITS:
        raise UnusableKey(f"is an RSA key of {key.key_size} bits; DKIM needs at least {MIN_RSA_BITS}")
    return key


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM (sealed before it is stored)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def dns_record_value(key: rsa.RSAPrivateKey) -> str:
    """The TXT record value that publishes ``key``'s public half (RFC 6376 §3.6.1)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def record_name(selector: str, domain: str) -> str:
    """Where the TXT record goes: ``<selector>._domainkey.<domain>``."""
    return f"{selector}._domainkey.{domain}"


@dataclass(frozen=True)
class KeySealer:
    """Encrypts and decrypts private keys with a key derived from ``DKIM_KEY_SECRET``."""

    aead: AESGCM

    @classmethod
    def of(cls, secret: str) -> KeySealer:
        """The sealer of ``secret`` (any length: HKDF stretches or condenses it to 256 bits)."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"notification-system dkim keys v1")
        return cls(AESGCM(key.derive(secret.encode())))

    def seal(self, pem: bytes, application_id: str, domain: str) -> bytes:
        """``pem`` encrypted for the sending domain ``domain`` of the application: nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self.aead.encrypt(nonce, pem, _bound(application_id, domain))

    def open(self, sealed: bytes, application_id: str, domain: str) -> bytes:
        """The PEM sealed by :meth:`seal`; ``ValueError`` when the secret, application or domain differ."""
        try:
            return self.aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _bound(application_id, domain))
        except InvalidTag:
            raise ValueError(f"the DKIM key of {domain} does not open with this DKIM_KEY_SECRET") from None


def _bound(application_id: str, domain: str) -> bytes:
    return f"{application_id}\n{domain}".encode()
