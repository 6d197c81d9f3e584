"""Who is calling: the operator with ``GATEWAY_ADMIN_API_KEY``, an application with one of its keys (an issued
``nk_`` key or one of ``GATEWAY_API_KEYS``), or an end user with a bearer JWT, and what each may touch
(docs/design.md §3 REST, §7 Applications)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from common.applications import DEFAULT_APPLICATION_ID
from common.ids import parse_uuid
from common.tokens import InvalidToken, verify_token
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.scopes import ALL_SCOPES, Scope
from gateway.tenancy.keys import is_issued_key, parse_key
from gateway.tenancy.records import ApplicationState, KeyGrant, KeyMode

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
    admin: bool = False
    """The operator's key: manages applications and keys, and acts in any application."""

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

    def require_admin(self) -> None:
        """403 unless the caller holds the operator's key."""
        if not self.admin:
            raise ProblemError(403, "only the operator's key (GATEWAY_ADMIN_API_KEY) may do this")

    def require_user(self, user_id: uuid.UUID) -> None:
        """403 unless the caller is an application or the user ``user_id`` itself."""
        if self.key_id is None and self.user_id != user_id:
            raise ProblemError(403, "a user token may only touch its own user")


def invalid_token() -> ProblemError:
    """The 401 of a bearer token that is not (or no longer) valid."""
    return ProblemError(401, "the bearer token is not valid or has expired", headers=UNAUTHENTICATED)


ADMIN_KEY_ID = "admin"
"""The ``key_id`` of the operator's key."""


def key_id(api_key: str) -> str:
    """The non-secret name of a key of ``GATEWAY_API_KEYS``."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def invalid_key() -> ProblemError:
    """The 401 of an API key that is unknown, revoked, wrong or of a disabled application: one body for all."""
    return ProblemError(401, "the API key is not valid", headers=UNAUTHENTICATED)


def unknown_application() -> ProblemError:
    """The 404 of an ``X-Application-Id`` that names no enabled application."""
    return ProblemError(404, "X-Application-Id names no application")


class Credentials(Protocol):
    """Where issued keys and applications are looked up (:class:`gateway.tenancy.key_cache.CredentialCache`)."""

    async def key(self, key_id: str) -> KeyGrant | None: ...

    async def application(self, application_id: uuid.UUID) -> ApplicationState | None: ...


class KeyUseRecorder(Protocol):
    """Notes that an issued key was used (:class:`gateway.tenancy.usage.KeyUsage`)."""

    def used(self, key_id: str) -> None: ...


class Authenticator:
    """Checks the operator's key, application keys and user tokens."""

    def __init__(
        self,
        api_keys: list[str],
        jwt_secret: str,
        *,
        admin_key: str,
        credentials: Credentials,
        usage: KeyUseRecorder,
    ) -> None:
        self._keys = [(key.encode(), key_id(key)) for key in api_keys]
        self._jwt_secret = jwt_secret
        self._admin_key = admin_key.encode()
        self._credentials = credentials
        self._usage = usage

    async def _active(self, application_id: uuid.UUID) -> ApplicationState | None:
        state = await self._credentials.application(application_id)
        return None if state is None or state.disabled else state

    async def admin(self, application_header: str | None) -> Caller:
        """The operator acting in the application of ``X-Application-Id`` (``default`` without it); 404 for
        one that is malformed, unknown or disabled."""
        application_id = DEFAULT_APPLICATION_ID
        if application_header is not None:
            parsed = parse_uuid(application_header.strip())
            if parsed is None:
                raise unknown_application()
            application_id = parsed
        state = await self._active(application_id)
        if state is None:
            raise unknown_application()
        return Caller(
            application_id,
            key_id=ADMIN_KEY_ID,
            scopes=ALL_SCOPES,
            rate_limit_per_minute=state.rate_limit_per_minute,
            admin=True,
        )

    async def issued(self, api_key: str) -> Caller:
        """The application of an issued ``nk_`` key; 401 when it is malformed, unknown, revoked, wrong or its
        application is disabled. A warm key costs no round trip."""
        presented = parse_key(api_key)
        grant = None if presented is None else await self._credentials.key(presented.key_id)
        if grant is None or grant.revoked or presented is None or not presented.matches(grant.secret_hash):
            raise invalid_key()
        state = await self._active(grant.application_id)
        if state is None:
            raise invalid_key()
        self._usage.used(grant.key_id)
        return Caller(
            grant.application_id,
            key_id=grant.key_id,
            scopes=grant.scopes,
            rate_limit_per_minute=state.rate_limit_per_minute,
            test_mode=grant.mode is KeyMode.TEST,
        )

    async def configured(self, api_key: str) -> Caller:
        """The ``default`` application holding a key of ``GATEWAY_API_KEYS``; 401 when none matches."""
        presented = api_key.encode()
        found: str | None = None
        for key, name in self._keys:
            if hmac.compare_digest(presented, key):
                found = name
        if found is None:
            raise invalid_key()
        state = await self._active(DEFAULT_APPLICATION_ID)
        return Caller(
            DEFAULT_APPLICATION_ID,
            key_id=found,
            scopes=ALL_SCOPES,
            rate_limit_per_minute=state.rate_limit_per_minute if state else None,
        )

    async def user(self, token: str) -> Caller:
        """The user a bearer token names, in the token's application; 401 when it is invalid, expired or its
        application disabled (whether it was revoked since is :class:`gateway.user_access.UserAccess`'s to
        check)."""
        try:
            claims = verify_token(token, self._jwt_secret)
            user_id = uuid.UUID(claims.user_id)
        except (InvalidToken, ValueError):
            raise invalid_token() from None
        state = await self._active(claims.application_id)
        if state is None:
            raise invalid_token()
        return Caller(
            claims.application_id,
            user_id=user_id,
            token_version=claims.version,
            rate_limit_per_minute=state.rate_limit_per_minute,
        )

    async def authenticate(
        self, api_key: str | None, authorization: str | None, application_header: str | None = None
    ) -> Caller:
        """The caller of a request from its ``X-API-Key``, ``Authorization`` and ``X-Application-Id`` headers
        (the last is read for the operator's key only); 401 without a valid credential."""
        if api_key:
            if self._admin_key and hmac.compare_digest(api_key.encode(), self._admin_key):
                return await self.admin(application_header)
            if is_issued_key(api_key):
                return await self.issued(api_key)
            return await self.configured(api_key)
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return await self.user(token.strip())
        raise ProblemError(401, "send an X-API-Key header or an Authorization: Bearer token", headers=UNAUTHENTICATED)
