"""``/v1/notifications``: send (docs/design.md §1) and read statuses and history."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import grpc
import orjson
from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from common.log import request_id_var
from common.page_tokens import InvalidPageToken, PageTokens
from gateway.auth import Caller
from gateway.deps import ApplicationDep, ResourcesDep
from gateway.errors import ProblemError, rpc_problem
from gateway.limits import IdempotencyClaim, Verdict, body_hash, canonical_json
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, RETRY_AFTER, WITH_BODY, problems
from gateway.schemas.notifications import (
    NotificationEvents,
    NotificationPage,
    NotificationStatus,
    SendRequest,
    SendResponse,
    StatusName,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

JSON = "application/json"
RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "The limit closest to running out, per window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Requests left under that limit.", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Seconds until that limit is whole again.", "schema": {"type": "integer"}},
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[ -~]+$",
        description="Repeats with the same key and body within 24 h return the first response.",
    ),
]


SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: `queued` (published) or `skipped` with a reason.",
        "headers": {
            **RATE_HEADERS,
            "Idempotent-Replayed": {"description": "`true` on a replayed response.", "schema": {"type": "string"}},
        },
    },
    **problems(
        *AUTHENTICATED,
        *WITH_BODY,
        404,
        409,
        429,
        descriptions={
            404: "The user or the template does not exist.",
            409: "The Idempotency-Key was used with another body, or its first request is still in flight "
            "(then with `Retry-After`).",
            422: "A field failed validation, or the template needs a variable that is missing (`errors` names it).",
        },
    ),
}
SEND_RESPONSES[409]["headers"] = RETRY_AFTER
SEND_RESPONSES[429]["headers"] = {**RETRY_AFTER, **RATE_HEADERS}


def status_url(notification_id: uuid.UUID) -> str:
    return f"/v1/notifications/{notification_id}"


@router.post(
    "/send",
    status_code=202,
    response_model=SendResponse,
    summary="Send a notification",
    responses=SEND_RESPONSES,
)
async def send(
    body: SendRequest, caller: ApplicationDep, resources: ResourcesDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Render a template for a user and queue it for delivery. The user's preferences, devices and
    suppressions may make it `skipped` (still 202). A 503 means nothing was accepted: retry with the same
    `Idempotency-Key`."""
    return await accept(body, caller, resources, idempotency_key)


async def accept(body: SendRequest, caller: Caller, resources: Resources, idempotency_key: str | None) -> Response:
    """The send itself, once the request is parsed and its caller known: the gate, the send, the stored
    response. Raises :class:`ProblemError` (the error handlers answer it)."""
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise ProblemError.field("expires_at", "is in the past")
    key_id = caller.require_application()
    fingerprint = ""
    if idempotency_key is not None:
        fingerprint = body_hash(canonical_json(body.model_dump(mode="json")))
    admission = await resources.gate.admit(key_id, str(body.user_id), idempotency_key, fingerprint)
    headers = admission.headers()
    if admission.verdict is Verdict.RATE_LIMITED:
        headers["Retry-After"] = str(admission.retry_after_seconds)
        raise ProblemError(429, "rate limit reached; retry after Retry-After seconds", headers=headers)
    if admission.verdict is Verdict.REPLAY:
        headers["Idempotent-Replayed"] = "true"
        return Response(admission.stored_response, status_code=202, headers=headers, media_type=JSON)
    if admission.verdict is Verdict.KEY_REUSED:
        raise ProblemError(409, "this Idempotency-Key was used with a different body", headers=headers)
    if admission.verdict is Verdict.IN_FLIGHT:
        headers["Retry-After"] = "1"
        raise ProblemError(409, "a request with this Idempotency-Key is still being processed", headers=headers)

    claim = admission.claim
    try:
        outcome = await resources.sender.send(body, request_id_var.get())
    except BaseException as error:
        if claim is not None:
            await _release(resources, claim)
        if isinstance(error, grpc.aio.AioRpcError):
            error = rpc_problem(error)
        if isinstance(error, ProblemError):
            error.headers = {**headers, **error.headers}
            raise error from None
        raise
    payload = orjson.dumps(
        {
            "notification_id": str(outcome.notification_id),
            "status": outcome.status,
            "status_url": status_url(outcome.notification_id),
            "reason": outcome.reason,
        }
    )
    if claim is not None:
        try:
            await resources.gate.complete(claim, payload)
        except Exception:
            logger.warning("could not store the response of Idempotency-Key %r", idempotency_key, exc_info=True)
    return Response(payload, status_code=202, headers=headers, media_type=JSON)


async def _release(resources: Resources, claim: IdempotencyClaim) -> None:
    try:
        await resources.gate.release(claim)
    except Exception:
        logger.warning("could not release an idempotency claim; it expires on its own", exc_info=True)


_CURSORS = PageTokens[uuid.UUID](pack=lambda last_id: last_id.bytes, unpack=lambda raw: uuid.UUID(bytes=raw))
"""A cursor is the last notification id of the page before, its 16 bytes as they are."""


def encode_cursor(notification_id: uuid.UUID) -> str:
    """The ``next_cursor`` of a page that ended with ``notification_id``."""
    return _CURSORS.encode(notification_id)


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a page starts before; 422 naming ``cursor`` for one this API did not return."""
    try:
        return _CURSORS.decode(cursor)
    except InvalidPageToken:
        raise ProblemError.field("cursor", "is not a cursor this API returned") from None


@router.get("", response_model=NotificationPage, summary="List notifications", responses=problems(*AUTHENTICATED))
async def list_notifications(
    caller: ApplicationDep,
    resources: ResourcesDep,
    user_id: Annotated[uuid.UUID | None, Query(description="Only this user's notifications.")] = None,
    status: Annotated[StatusName | None, Query(description="Only notifications in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """Notifications, newest first, one page at a time."""
    before = decode_cursor(cursor) if cursor else None
    items, last = await resources.store.page(user_id=user_id, status=status, before=before, limit=limit)
    return {"items": items, "next_cursor": encode_cursor(last) if last else None}


async def _status(resources: Resources, notification_id: uuid.UUID) -> dict[str, Any]:
    found = await resources.store.get(notification_id)
    if found is None:
        raise ProblemError(404, f"notification {notification_id} does not exist")
    return found


@router.get(
    "/{notification_id}",
    response_model=NotificationStatus,
    summary="Get a notification",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification(
    notification_id: uuid.UUID, caller: ApplicationDep, resources: ResourcesDep
) -> dict[str, Any]:
    """A notification's current status."""
    return await _status(resources, notification_id)


@router.get(
    "/{notification_id}/status",
    response_model=NotificationStatus,
    summary="Get a notification's status",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification_status(
    notification_id: uuid.UUID, caller: ApplicationDep, resources: ResourcesDep
) -> dict[str, Any]:
    """The same as `GET /v1/notifications/{id}`."""
    return await _status(resources, notification_id)


@router.get(
    "/{notification_id}/events",
    response_model=NotificationEvents,
    summary="Get a notification's history",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification_events(
    notification_id: uuid.UUID, caller: ApplicationDep, resources: ResourcesDep
) -> dict[str, Any]:
    """Every state change, oldest first: each attempt, its provider reply, per-token push outcomes."""
    events = await resources.store.events(notification_id)
    if events is None:
        raise ProblemError(404, f"notification {notification_id} does not exist")
    return {"items": events}
