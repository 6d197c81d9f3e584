"""User access tokens: HS256 JWTs (docs/design.md §3). user_svc issues them, the gateway verifies them; both
through this module so the two always agree.

A token carries ``sub`` (user id), ``app`` (its application), ``iss``, ``aud``, ``ver`` (the user's token
version: a password change moves it on, revoking every token issued before), ``iat`` and ``exp``. A token of
release 1 (``sub``, ``iat``, ``exp`` only) stays valid until it expires, as the default application's with
version 0.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from common.applications import DEFAULT_APPLICATION_ID

ALGORITHM = "HS256"
ISSUER = "notification-system/user_svc"
AUDIENCE = "notification-system/gateway"
RELEASE_2_CLAIMS = ("app", "iss", "aud", "ver")
"""Claims a token of release 1 lacks; a token with any of them must have all."""
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class InvalidToken(Exception):
    """The token is malformed, tampered with, unsigned, expired, or not meant for us."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: whose it is, for which application, and at which token version."""

    user_id: str
    application_id: uuid.UUID
    version: int


def parse_duration(value: str) -> int:
    """Seconds in ``value``: ``3600``, ``90s``, ``15m``, ``1h`` or ``7d``; raises ValueError otherwise."""
    match = _DURATION.match(value)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration such as 3600, 15m or 1h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def issue_token(
    user_id: str,
    secret: str,
    expires_in_seconds: int,
    *,
    version: int,
    application_id: uuid.UUID = DEFAULT_APPLICATION_ID,
    now: float | None = None,
) -> str:
    """A signed token for ``user_id`` at token ``version``, valid for ``expires_in_seconds``."""
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": user_id,
        "app": str(application_id),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "ver": version,
        "iat": issued,
        "exp": issued + expires_in_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> TokenClaims:
    """The claims of a valid token; raises :class:`InvalidToken` for anything else (``alg=none`` included)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "iat", "exp"], "verify_aud": False},  # aud checked below: release 1 has none
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("token has no subject")
    if not any(name in claims for name in RELEASE_2_CLAIMS):
        return TokenClaims(subject, DEFAULT_APPLICATION_ID, 0)
    return TokenClaims(subject, _application(claims), _version(claims))


def _application(claims: dict[str, Any]) -> uuid.UUID:
    """The ``app`` of a release-2 token, after its issuer and audience are checked."""
    missing = [name for name in RELEASE_2_CLAIMS if name not in claims]
    if missing:
        raise InvalidToken(f"token lacks {', '.join(missing)}")
    if claims["iss"] != ISSUER:
        raise InvalidToken("token has another issuer")
    audience = claims["aud"]
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        raise InvalidToken("token is meant for another audience")
    try:
        return uuid.UUID(str(claims["app"]))
    except ValueError:
        raise InvalidToken("token names no application") from None


def _version(claims: dict[str, Any]) -> int:
    version = claims["ver"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidToken("token has no valid version")
    return version
