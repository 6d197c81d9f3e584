"""DKIM signatures (RFC 6376, ``rsa-sha256``) on the worker's outgoing email.

dkimpy parses the message, canonicalises the body and the headers (``relaxed/simple``, its default), folds
the ``DKIM-Signature`` header and selects the signed headers exactly as :meth:`dkim.DKIM.sign` does; the
private-key operation is done here with ``cryptography`` (OpenSSL) on a key parsed once per domain, because
dkimpy's pure-Python RSA costs ≈ 13 ms a message, which would cap a worker at well under 100 emails a second
a core (≈ 1 ms with OpenSSL). Receivers verify it like any other signature, and the tests
verify it with :func:`dkim.verify`.

``h=`` names every header of :data:`SIGNED_HEADERS` the message has, ``From`` twice so that a second
``From`` cannot be added without breaking the signature.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

SIGNED_HEADERS = (
    b"from",
    b"reply-to",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
"""The headers signed when present (RFC 8058 §4 wants both List-Unsubscribe headers covered)."""
_SIGNED = frozenset(SIGNED_HEADERS)
_POLICY = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/simple")
_NAME = b"DKIM-Signature"
_PLACEHOLDER = b"0" * 60
"""dkimpy's trick: a long ``b=`` while hashing puts ``b=`` on a line of its own, so the real value folds the
same way."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs messages whose ``From`` is at ``domain`` with the key published at ``selector``."""

    domain: str
    selector: str
    key: rsa.RSAPrivateKey

    def signature(self, message: bytes) -> bytes:
        """The ``DKIM-Signature`` header line (CRLF-terminated) to put before ``message``'s headers."""
        headers, body = dkim.rfc822_parse(message)
        present = [name.lower() for name, _ in headers if name.lower() in _SIGNED]
        include = [*present, b"from"]
        body_hash = base64.b64encode(hashlib.sha256(_POLICY.canonicalize_body(body)).digest())
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", _POLICY.to_c_value()),
            (b"d", self.domain.encode()),
            (b"i", b"@" + self.domain.encode()),
            (b"q", b"dns/txt"),
            (b"s", self.selector.encode()),
            (b"t", str(int(time.time())).encode()),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
            (b"b", _PLACEHOLDER),
        ]
        unsigned = dkim.fold(b"; ".join(b"=".join(field) for field in fields), namelen=len(_NAME))
        unsigned = dkim.RE_BTAG.sub(b"\\1", unsigned)
        hasher = hashlib.sha256()
        dkim.hash_headers(
            hasher, _POLICY, _POLICY.canonicalize_headers(headers), include, (_NAME, b" " + unsigned), None
        )
        signed = self.key.sign(hasher.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        fields[-1] = (b"b", base64.b64encode(signed))
        value = dkim.fold(b"; ".join(b"=".join(field) for field in fields) + b"\r\n", namelen=len(_NAME))
        return _NAME + b": " + value

    def sign(self, message: bytes) -> bytes:
        """``message`` with its ``DKIM-Signature`` header first."""
        return self.signature(message) + message
