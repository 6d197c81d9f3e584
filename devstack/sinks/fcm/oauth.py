"""The OAuth 2.0 token endpoint google-auth's service-account flow posts its signed JWT assertion to
(RFC 7523), and the access tokens it hands out."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt

from devstack.sinks.fcm.credentials import GOOGLE_TOKEN_URI, TrustedKey, load_trusted_key

JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_SECONDS = 3599
_LEEWAY_SECONDS = 60
_BAD_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


class OAuthError(Exception):
    """A refused grant, answered like Google: 400 ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The JSON error body."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Grant:
    """Who an access token was issued to, and until when (monotonic seconds)."""

    client_email: str
    project_id: str | None
    expires_at: float


class TokenEndpoint:
    """Checks assertions and issues access tokens.

    With a service-account file, an assertion must be signed by that file's key (the file is re-read when
    an assertion names another key id, so regenerating it needs no restart); without one, any well-formed
    RS256 assertion with sane claims is accepted, unverified.
    """

    def __init__(self, credentials_path: Path | None = None) -> None:
        self._credentials_path = credentials_path
        self._trusted: TrustedKey | None = None
        self._grants: dict[str, Grant] = {}

    def grant(self, form_body: bytes) -> dict[str, Any]:
        """Answer a token request (form-encoded ``grant_type`` and ``assertion``) or raise :class:`OAuthError`."""
        form = {name: values[0] for name, values in parse_qs(form_body.decode("latin-1")).items()}
        grant_type = form.get("grant_type")
        if grant_type != JWT_GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "Missing required parameter: assertion")
        claims, project_id = self._verify(assertion)
        now = time.monotonic()
        self._grants = {token: g for token, g in self._grants.items() if g.expires_at > now}
        access_token = f"ya29.local.{secrets.token_urlsafe(32)}"
        self._grants[access_token] = Grant(claims["iss"], project_id, now + TOKEN_LIFETIME_SECONDS)
        return {"access_token": access_token, "expires_in": TOKEN_LIFETIME_SECONDS, "token_type": "Bearer"}

    def check(self, access_token: str) -> Grant | None:
        """The grant behind ``access_token``, or None when it is unknown or expired."""
        grant = self._grants.get(access_token)
        if grant is None or grant.expires_at <= time.monotonic():
            return None
        return grant

    def _verify(self, assertion: str) -> tuple[dict[str, Any], str | None]:
        """The assertion's claims and its service account's project (None when nothing is trusted)."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", "Invalid JWT: the assertion is not a JWT.") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "Invalid JWT: the assertion must be signed with RS256.")
        trusted = self._trusted_key(header.get("kid"))
        try:
            claims = jwt.decode(
                assertion,
                trusted.public_key if trusted else "",
                algorithms=["RS256"],
                options={
                    "require": ["iss", "aud", "iat", "exp"],
                    "verify_signature": trusted is not None,
                    "verify_exp": True,
                    "verify_iat": True,
                    "verify_aud": False,
                },
                leeway=_LEEWAY_SECONDS,
            )
        except jwt.InvalidSignatureError:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.") from None
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise OAuthError("invalid_grant", _BAD_TIMES) from None
        except jwt.InvalidTokenError as error:
            raise OAuthError("invalid_grant", f"Invalid JWT: {error}") from None
        audience = claims["aud"]
        if not isinstance(audience, str) or not (audience == GOOGLE_TOKEN_URI or audience.endswith("/token")):
            raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check.")
        if trusted is not None and claims["iss"] != trusted.client_email:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        if claims["exp"] - claims["iat"] > 3600 + _LEEWAY_SECONDS:
            raise OAuthError("invalid_grant", _BAD_TIMES)
        return claims, trusted.project_id if trusted else None

    def _trusted_key(self, key_id: str | None) -> TrustedKey | None:
        if self._credentials_path is None:
            return None
        if self._trusted is None or self._trusted.key_id != key_id:
            try:
                self._trusted = load_trusted_key(self._credentials_path)
            except (OSError, ValueError, KeyError) as error:
                raise OAuthError("invalid_grant", f"Invalid JWT Signature: no trusted key ({error}).") from None
            if self._trusted.key_id != key_id:
                raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        return self._trusted
