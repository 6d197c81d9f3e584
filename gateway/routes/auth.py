"""``/v1/auth``: end users log in for a token that reaches their own user, preferences and devices."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter

from gateway.deps import ResourcesDep
from gateway.errors import ProblemError, is_internal_key_refusal
from gateway.routes.docs import WITH_BODY, problems
from gateway.schemas.users import LoginRequest, Token
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_WRONG_CREDENTIALS = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


@router.post(
    "/login",
    response_model=Token,
    summary="Log in",
    responses=problems(
        *WITH_BODY,
        401,
        422,
        429,
        503,
        descriptions={
            401: "Wrong email or password (no hint which).",
            429: "Too many failed logins for this email lately.",
        },
    ),
)
async def login(body: LoginRequest, resources: ResourcesDep) -> dict[str, Any]:
    """Exchange an email and password for a bearer token. Needs no API key."""
    throttle = resources.login_throttle
    await throttle.check(body.email)
    try:
        reply = await resources.backends.users.Authenticate(
            pb.AuthenticateRequest(email=body.email, password=body.password), timeout=resources.backends.timeout
        )
    except grpc.aio.AioRpcError as error:
        if error.code() in _WRONG_CREDENTIALS and not is_internal_key_refusal(error):
            await throttle.failed(body.email)
            raise ProblemError(401, "wrong email or password") from None
        raise
    await throttle.succeeded(body.email)
    return {"access_token": reply.access_token, "token_type": "bearer", "expires_in": reply.expires_in}
