"""``/v1/auth``: end users log in for a token that reaches their own user, preferences and devices; any caller
asks what its credential is."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter, Request

from common.applications import DEFAULT_APPLICATION_ID
from gateway.deps import CallerDep, ResourcesDep
from gateway.errors import ProblemError, is_internal_key_refusal
from gateway.routes.docs import AUTHENTICATED, RETRY_AFTER, WITH_BODY, problems
from gateway.schemas.applications import WhoAmI
from gateway.schemas.users import LoginRequest, Token
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_WRONG_CREDENTIALS = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


LOGIN_RESPONSES = problems(
    *WITH_BODY,
    401,
    422,
    429,
    503,
    descriptions={
        401: "Wrong email or password (no hint which).",
        429: "Too many failed logins for this email, or from this client address, lately.",
        503: "Too many logins in progress, or a dependency is busy or down; retry (after `Retry-After` when given).",
    },
)
LOGIN_RESPONSES[503]["headers"] = RETRY_AFTER


@router.post("/login", response_model=Token, summary="Log in", responses=LOGIN_RESPONSES)
async def login(body: LoginRequest, request: Request, resources: ResourcesDep) -> dict[str, Any]:
    """Exchange an email and password for a bearer token, valid in the user's application (`application_id`,
    the `default` one when omitted). Needs no API key."""
    throttle = resources.login_throttle
    application_id = str(body.application_id or DEFAULT_APPLICATION_ID)
    with resources.login_slots.hold():
        attempt = await throttle.reserve(application_id, body.email, request.client.host if request.client else "")
        try:
            reply = await resources.backends.users.Authenticate(
                pb.AuthenticateRequest(application_id=application_id, email=body.email, password=body.password),
                timeout=resources.backends.timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in _WRONG_CREDENTIALS and not is_internal_key_refusal(error):
                raise ProblemError(401, "wrong email or password") from None  # the failure taken stays
            await throttle.undecided(attempt)
            raise
        await throttle.succeeded(attempt)
    return {"access_token": reply.access_token, "token_type": "bearer", "expires_in": reply.expires_in}


@router.get("/whoami", response_model=WhoAmI, summary="Who am I", responses=problems(*AUTHENTICATED, 404, 429))
async def whoami(caller: CallerDep) -> dict[str, Any]:
    """The application the request acts in, the key's id and scopes, and whether it is the operator's key."""
    return {
        "application_id": caller.application_id,
        "key_id": caller.key_id,
        "scopes": sorted(caller.scopes),
        "admin": caller.admin,
    }
