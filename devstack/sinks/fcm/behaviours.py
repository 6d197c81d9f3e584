"""Which device tokens fail, and how: FCM's answers for dead, invalid or unlucky tokens.

A token fails when it was registered through the control endpoint (``POST /tokens/{token}``, ``*`` for every
token), for the given number of sends or for good; otherwise when its name starts with a behaviour's prefix
(``unregistered-abc`` is always unregistered). Everything else is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from devstack.sinks.fcm.errors import FcmError, FieldViolation

ANY_TOKEN = "*"  # noqa: S105 - not a secret: the rule key that matches every token
QUOTA_RETRY_AFTER_SECONDS = 60
"""FCM's advice for a device over its message rate: wait at least a minute."""


class Behaviour(StrEnum):
    """How a send to a token fails; the value is also the token-name prefix (``unregistered-...``)."""

    UNREGISTERED = "unregistered"
    SENDER_ID_MISMATCH = "sender-id-mismatch"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    QUOTA = "quota"


def fcm_error(behaviour: Behaviour, retry_after: int | None = None) -> FcmError:
    """The exact answer FCM gives for ``behaviour``; ``retry_after`` overrides the ``Retry-After`` header
    (quota errors always carry one, unavailable ones only when given)."""
    if behaviour is Behaviour.UNREGISTERED:
        return FcmError(404, "NOT_FOUND", "Requested entity was not found.", error_code="UNREGISTERED")
    if behaviour is Behaviour.SENDER_ID_MISMATCH:
        return FcmError(403, "PERMISSION_DENIED", "SenderId mismatch", error_code="SENDER_ID_MISMATCH")
    if behaviour is Behaviour.INVALID:
        description = "The registration token is not a valid FCM registration token"
        return FcmError(
            400,
            "INVALID_ARGUMENT",
            description,
            error_code="INVALID_ARGUMENT",
            violations=(FieldViolation("message.token", description),),
        )
    if behaviour is Behaviour.UNAVAILABLE:
        return FcmError(
            503,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            error_code="UNAVAILABLE",
            retry_after=retry_after,
        )
    if behaviour is Behaviour.INTERNAL:
        return FcmError(500, "INTERNAL", "Internal error encountered.", error_code="INTERNAL")
    return FcmError(
        429,
        "RESOURCE_EXHAUSTED",
        "Message rate exceeded for this device.",
        error_code="QUOTA_EXCEEDED",
        retry_after=QUOTA_RETRY_AFTER_SECONDS if retry_after is None else retry_after,
    )


@dataclass
class Rule:
    """A registered behaviour: ``remaining`` sends fail (None: every send), with an optional ``Retry-After``."""

    behaviour: Behaviour
    remaining: int | None = None
    retry_after: int | None = None


class Behaviours:
    """The registry of failing tokens. Used from the server's one event loop only, so it needs no lock."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def register(self, token: str, rule: Rule) -> None:
        """Make sends to ``token`` (``*``: any token) fail as ``rule`` says, replacing an earlier rule."""
        self._rules[token] = rule

    def forget(self, token: str) -> bool:
        """Drop the rule for ``token``; False when there was none."""
        return self._rules.pop(token, None) is not None

    def clear(self) -> None:
        """Drop every rule (prefix conventions stay)."""
        self._rules.clear()

    def rules(self) -> dict[str, Rule]:
        """The registered rules by token."""
        return dict(self._rules)

    def failure_for(self, token: str) -> FcmError | None:
        """The error a send to ``token`` gets now, counting it against a limited rule; None when it succeeds."""
        for key in (token, ANY_TOKEN):
            rule = self._rules.get(key)
            if rule is None:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    del self._rules[key]
            return fcm_error(rule.behaviour, rule.retry_after)
        for behaviour in Behaviour:
            if token.startswith(f"{behaviour.value}-"):
                return fcm_error(behaviour)
        return None
