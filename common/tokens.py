"""User access tokens: HS256 JWTs with ``sub`` (user id), ``iat`` and ``exp`` (docs/design.md §3). user_svc issues
them, the gateway verifies them; both through this module so the two always agree."""

from __future__ import annotations

import re
import time

import jwt

ALGORITHM = "HS256"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class InvalidToken(Exception):
    """The token is malformed, tampered with, unsigned, or expired."""


def parse_duration(value: str) -> int:
    """Seconds in ``value``: ``3600``, ``90s``, ``15m``, ``1h`` or ``7d``; raises ValueError otherwise."""
    match = _DURATION.match(value)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration such as 3600, 15m or 1h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def issue_token(user_id: str, secret: str, expires_in_seconds: int, *, now: float | None = None) -> str:
    """A signed token for ``user_id`` valid for ``expires_in_seconds``."""
    issued = int(now if now is not None else time.time())
    claims = {"sub": user_id, "iat": issued, "exp": issued + expires_in_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> str:
    """The user id of a valid token; raises :class:`InvalidToken` for anything else (``alg=none`` included)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "iat", "exp"]})
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("token has no subject")
    return subject
