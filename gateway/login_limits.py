"""What stands between ``POST /v1/auth/login`` and a password check (docs/operations.md, "Security").

Each attempt takes, before user_svc is asked, one failure from the budget of its email and one from the
budget of its client address, atomically in Redis: concurrent guesses cannot all pass a check made before any
of them failed. A wrong password keeps what it took; a success gives the address's back and clears the
email's; an attempt that got no verdict (user_svc busy or down) gives both back. A cap on the logins in
progress in this process (``gateway.slots``) keeps a burst from queueing without bound.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from common.redis_client import RedisClient
from gateway.errors import ProblemError
from gateway.limits import ScriptCalls

_TAKE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return left end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(ARGV[2])
end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
"""Takes one failure from the budget ``KEYS[1]`` (``ARGV[1]`` per window of ``ARGV[2]`` ms, the window starting
at the first) and answers 0, or answers the ms left in the window when the budget is spent."""

_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
"""Returns one failure to the budget ``KEYS[1]``, if its window still holds any."""

IPV6_PREFIX = 64
"""An IPv6 client is limited by its /64: one subscriber usually holds a whole /64."""


def email_key(application_id: str, email: str) -> str:
    """The Redis key of an email's budget in one application, in its own hash slot (``{login:<hash of the
    application and the email>}``): no address is readable in Redis."""
    digest = hashlib.sha256(f"{application_id}\n{email.strip().lower()}".encode()).hexdigest()[:32]
    return f"gw:{{login:{digest}}}:failures"


def address_key(address: str) -> str:
    """The Redis key of a client address's budget, in its own hash slot: an IPv4 address, an IPv6 /64, or a
    hash of whatever else the server reported as the client."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        name = "other:" + hashlib.sha256(address.encode()).hexdigest()[:32]
    else:
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        if isinstance(parsed, ipaddress.IPv6Address):
            name = str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
        else:
            name = str(parsed)
    return f"gw:{{login-address:{name}}}:failures"


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The budgets one attempt took from: its email's and, when that limit is on, its address's."""

    email_key: str
    address_key: str | None


class LoginThrottle:
    """Failure budgets per email (``max_failures`` per window, 429 once spent) and per client address
    (``address_max_failures``, 0 = off), taken before the password is checked."""

    def __init__(
        self, redis: RedisClient, *, max_failures: int, address_max_failures: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._scripts = ScriptCalls(redis)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._max = max_failures
        self._address_max = address_max_failures
        self._window_ms = window_seconds * 1000

    async def reserve(self, application_id: str, email: str, address: str | None) -> LoginAttempt:
        """Take one failure from the address's budget (None: a check that is not a login, such as a user's
        current password, has none), then from the budget of the email in ``application_id`` (the same email
        in two applications is two users); 429 with ``Retry-After`` (and nothing taken) when either is
        spent."""
        from_address = address_key(address) if self._address_max > 0 and address is not None else None
        if from_address is not None:
            wait_ms = await self._scripts.call(self._take, [from_address], [self._address_max, self._window_ms])
            if wait_ms:
                raise _too_many("from this address", wait_ms)
        from_email = email_key(application_id, email)
        wait_ms = await self._scripts.call(self._take, [from_email], [self._max, self._window_ms])
        if wait_ms:
            if from_address is not None:
                await self._scripts.call(self._give_back, [from_address], [])
            raise _too_many("for this email", wait_ms)
        return LoginAttempt(from_email, from_address)

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: forget the email's failures and give the address its attempt back."""
        await self._redis.delete(attempt.email_key)
        if attempt.address_key is not None:
            await self._scripts.call(self._give_back, [attempt.address_key], [])

    async def undecided(self, attempt: LoginAttempt) -> None:
        """No verdict came (user_svc busy or unreachable): give both budgets their attempt back."""
        await self._scripts.call(self._give_back, [attempt.email_key], [])
        if attempt.address_key is not None:
            await self._scripts.call(self._give_back, [attempt.address_key], [])


def _too_many(whose: str, wait_ms: int) -> ProblemError:
    return ProblemError(
        429,
        f"too many failed logins {whose}; try again later",
        headers={"Retry-After": str(max(1, math.ceil(int(wait_ms) / 1000)))},
    )
