"""Dependencies of the routes, as ``Annotated`` aliases: the shared resources and the authenticated caller, and
:func:`requires`, with which each route declares the scope its API key must hold (listed in the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from gateway.auth import Caller
from gateway.resources import Resources
from gateway.scopes import Scope

api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    auto_error=False,
    description="An application's key (an issued `nk_` key or one of GATEWAY_API_KEYS), or the operator's key"
    " (GATEWAY_ADMIN_API_KEY, which acts in the application of the `X-Application-Id` header).",
)
APPLICATION_HEADER = "X-Application-Id"
"""The application the operator's key acts in (``default`` without it); other credentials ignore it."""
bearer_scheme = HTTPBearer(
    scheme_name="BearerAuth", auto_error=False, bearerFormat="JWT", description="A user token from POST /v1/auth/login."
)


async def resources(request: Request) -> Resources:
    """The process's shared resources."""
    found: Resources = request.app.state.resources
    return found


ResourcesDep = Annotated[Resources, Depends(resources)]


async def any_caller(
    security_scopes: SecurityScopes,
    request: Request,
    api_key: Annotated[str | None, Security(api_key_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Caller:
    """An application, or a user whose token is still current and within its rate limit; 401 for neither."""
    resources: Resources = request.app.state.resources
    caller = await resources.authenticator.authenticate(
        api_key, f"Bearer {bearer.credentials}" if bearer else None, request.headers.get(APPLICATION_HEADER)
    )
    await resources.user_access.admit(caller)
    caller.require_scopes(security_scopes.scopes)
    return caller


async def application_caller(
    security_scopes: SecurityScopes, request: Request, api_key: Annotated[str | None, Security(api_key_scheme)]
) -> Caller:
    """An application's key holding the route's scopes; a valid user token is 403, nothing valid is 401."""
    authenticator = request.app.state.resources.authenticator
    caller: Caller = await authenticator.authenticate(
        api_key, request.headers.get("authorization"), request.headers.get(APPLICATION_HEADER)
    )
    caller.require_application()
    caller.require_scopes(security_scopes.scopes)
    return caller


def requires(scope: Scope, *, users: bool = False) -> Any:
    """The caller of a route that needs ``scope``: an API key holding it (403 ``scope-missing`` otherwise), or, with
    ``users``, also a user token (whose route then checks it touches only its own user)."""
    return Security(any_caller if users else application_caller, scopes=[scope])


async def admin_caller(caller: Annotated[Caller, Depends(application_caller)]) -> Caller:
    """The operator's key; any other valid credential is 403, nothing valid is 401."""
    caller.require_admin()
    return caller


CallerDep = Annotated[Caller, Depends(any_caller)]
ApplicationDep = Annotated[Caller, Depends(application_caller)]
AdminDep = Annotated[Caller, Depends(admin_caller)]


def confined_to(caller: Caller, request: Request) -> uuid.UUID | None:
    """The application whose operations data (dead letters, stats) the caller reaches; None (all of them) for the
    operator's key without ``X-Application-Id``, which elsewhere means the default application."""
    if caller.admin and APPLICATION_HEADER not in request.headers:
        return None
    return caller.application_id
