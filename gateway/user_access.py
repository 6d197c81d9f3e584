"""What a user token must pass beyond its signature, before any route runs: the per-user rate limit, then the
user's current token version (a password change moves it on and revokes every token issued before).

The gateway learns the version from the user's notification profile, through the profile cache: the
gateway's own writes and ``UserChanged`` events evict it at once, so a revoked token stops working within
milliseconds while the broker delivers events, and within the profile caches' lifetimes in any case
(docs/operations.md, Security).
"""

from __future__ import annotations

import grpc

from gateway.auth import Caller, invalid_token
from gateway.limits import UserTokenLimit
from gateway.profiles import ProfileCache


class UserAccess:
    """Admits a request made with a user token, or answers 429 (limited) or 401 (revoked, or the user is gone)."""

    def __init__(self, limit: UserTokenLimit, profiles: ProfileCache) -> None:
        self._limit = limit
        self._profiles = profiles

    async def admit(self, caller: Caller) -> None:
        """Let a user token's request through, or raise the problem that ends it."""
        if caller.user_id is None:
            return
        application_id, user_id = str(caller.application_id), str(caller.user_id)
        await self._limit.admit(application_id, user_id)
        try:
            profile = await self._profiles.get(application_id, user_id)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise invalid_token() from None
            raise
        if profile.token_version != caller.token_version:
            raise invalid_token()
