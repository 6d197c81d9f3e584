"""Who is calling: an application with an API key (``X-API-Key``, compared in constant time) or an end user
with a bearer JWT, and what each may touch (docs/design.md §3 REST)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from common.applications import DEFAULT_APPLICATION_ID
from common.tokens import InvalidToken, verify_token
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.scopes import ALL_SCOPES, Scope

UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller acting in one application: with a key (``key_id`` set) or as a user of that
    application (``user_id`` set)."""

    application_id: uuid.UUID
    """The application every read and write of the request is confined to."""
    key_id: str | None = None
    """A stable, non-secret name of the API key."""
    scopes: frozenset[Scope] = frozenset()
    """What the key may do; a user token has none (its routes check the user instead)."""
    user_id: uuid.UUID | None = None
    token_version: int = 0
    """The ``ver`` claim of a user token; valid only while it is the user's current token version."""
    rate_limit_per_minute: int | None = None
    """The application's send limit; None = the deployment's ``RATE_LIMIT_KEY_PER_MINUTE``."""
    test_mode: bool = False
    """A ``test`` key: its sends are recorded as delivered and never handed to a provider."""

    @property
    def is_application(self) -> bool:
        return self.key_id is not None

    def require_application(self) -> str:
        """The caller's key id; 403 for a user token."""
        if self.key_id is None:
            raise ProblemError(403, "a user token may not do this; use an API key")
        return self.key_id

    def require_scopes(self, scopes: Iterable[str]) -> None:
        """403 ``scope-missing`` naming the first of ``scopes`` an API key lacks; a user token's routes check the
        user instead (:meth:`require_user`)."""
        if self.user_id is not None:
            return
        for scope in scopes:
            if scope not in self.scopes:
                raise ProblemError(
                    403,
                    f"this API key lacks the scope {scope}",
                    kind=ProblemType.SCOPE_MISSING,
                    extra={"required_scope": scope},
                )

    def require_user(self, user_id: uuid.UUID) -> None:
        """403 unless the caller is an application or the user ``user_id`` itself."""
        if self.key_id is None and self.user_id != user_id:
            raise ProblemError(403, "a user token may only touch its own user")


def invalid_token() -> ProblemError:
    """The 401 of a bearer token that is not (or no longer) valid."""
    return ProblemError(401, "the bearer token is not valid or has expired", headers=UNAUTHENTICATED)


def key_id(api_key: str) -> str:
    """The non-secret name of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class Authenticator:
    """Checks API keys and user tokens against the configured secrets."""

    def __init__(self, api_keys: list[str], jwt_secret: str) -> None:
        self._keys = [(key.encode(), key_id(key)) for key in api_keys]
        self._jwt_secret = jwt_secret

    def application(self, api_key: str) -> Caller:
        """The application holding ``api_key``; 401 when no configured key matches."""
        presented = api_key.encode()
        found: str | None = None
        for key, name in self._keys:
            if hmac.compare_digest(presented, key):
                found = name
        if found is None:
            raise ProblemError(401, "the API key is not valid", headers=UNAUTHENTICATED)
        return Caller(DEFAULT_APPLICATION_ID, key_id=found, scopes=ALL_SCOPES)

    def user(self, token: str) -> Caller:
        """The user a bearer token names; 401 when it is invalid or expired (whether it was revoked since is
        :class:`gateway.user_access.UserAccess`'s to check)."""
        try:
            claims = verify_token(token, self._jwt_secret)
            user_id = uuid.UUID(claims.user_id)
        except (InvalidToken, ValueError):
            raise invalid_token() from None
        return Caller(claims.application_id, user_id=user_id, token_version=claims.version)

    def authenticate(self, api_key: str | None, authorization: str | None) -> Caller:
        """The caller of a request from its ``X-API-Key`` and ``Authorization`` headers; 401 without either."""
        if api_key:
            return self.application(api_key)
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return self.user(token.strip())
        raise ProblemError(401, "send an X-API-Key header or an Authorization: Bearer token", headers=UNAUTHENTICATED)
