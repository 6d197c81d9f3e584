"""Whether a string is an email address we would send to: one rule for user_svc, which stores users'
addresses, and the gateway, which takes addresses to suppress."""

from __future__ import annotations

import re

MAX_EMAIL_LENGTH = 254

# The HTML living standard's "valid e-mail address", with at least one dot in the domain.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def checked_email(value: str) -> str:
    """``value`` trimmed when it is a well-formed email address; ValueError otherwise."""
    value = value.strip()
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    return value
