"""``/v1/notifications``: send (docs/design.md §1) and read statuses and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime
from starlette.responses import Response

from common.notification_tables import Status
from common.page_tokens import InvalidPageToken, PageTokens
from gateway.auth import Caller
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.feed import rendered_content
from gateway.notification_filters import MAX_METADATA_FILTERS, METADATA_PREFIX, NotificationFilters
from gateway.problem_types import ProblemType
from gateway.resources import Resources
from gateway.routes import send_input
from gateway.routes.docs import AUTHENTICATED, RETRY_AFTER, WITH_BODY, problems
from gateway.routes.request_route import RequestRoute
from gateway.schemas.notifications import (
    SLUG_PATTERN,
    BatchRequest,
    BatchResponse,
    BroadcastAccepted,
    ChannelName,
    NotificationEvents,
    NotificationPage,
    NotificationStatus,
    RenderedContent,
    SendResponse,
    StatusName,
    TopicSendRequest,
)
from gateway.scopes import Scope
from gateway.store import NotificationBusy

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

SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: `queued` (published) or `skipped` with a reason; for a topic, the broadcast.",
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
            404: "The user, the topic or the template does not exist.",
            409: "The Idempotency-Key was used with another body, or its first request is still in flight "
            "(then with `Retry-After`).",
            422: "A field failed validation (also: both `user_id` and `to`), or the template needs a variable "
            "that is missing (`errors` names it).",
        },
    ),
}
SEND_RESPONSES[409]["headers"] = RETRY_AFTER
SEND_RESPONSES[429]["headers"] = {**RETRY_AFTER, **RATE_HEADERS}


async def send(request: Request) -> Response:
    """Render a template for a user and queue it for delivery. The user's preferences, devices and
    suppressions may make it `skipped` (still 202). A 503 means nothing was accepted: retry with the same
    `Idempotency-Key`.

    With `"to": {"topic": "<key>"}` instead of `user_id`, it sends to every subscriber of the topic: the answer
    is a broadcast (`broadcast_id`, `status: fanning_out`, `status_url`), fanned out in the background, each
    subscriber getting exactly one notification (docs/api.md "Broadcasts")."""
    resources: Resources = request.app.state.resources
    with resources.send_slots.hold():
        sent = await send_input.read_send(request, resources.authenticator)
        if isinstance(sent.body, TopicSendRequest):
            accepted = await resources.broadcast_service.accept(sent.body, sent.caller, sent.idempotency_key)
        else:
            accepted = await resources.send_service.accept(sent.body, sent.caller, sent.idempotency_key)
    headers = {**accepted.headers, "Idempotent-Replayed": "true"} if accepted.replayed else accepted.headers
    return Response(accepted.payload, status_code=202, headers=headers, media_type=JSON)


router.add_api_route(
    "/send",
    send,
    methods=["POST"],
    status_code=202,
    response_model=SendResponse | BroadcastAccepted,
    summary="Send a notification",
    responses=SEND_RESPONSES,
    openapi_extra=send_input.OPENAPI,
    route_class_override=RequestRoute,
)


BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: SEND_RESPONSES[202],
    **problems(
        *AUTHENTICATED,
        *WITH_BODY,
        404,
        409,
        descriptions={
            404: "The template does not exist.",
            409: SEND_RESPONSES[409]["description"],
            413: "The body is over 1 MiB.",
            422: "A field failed validation, or the template needs a variable that is missing for a recipient "
            "(`errors` names it): nothing was sent.",
        },
    ),
}
BATCH_RESPONSES[409]["headers"] = RETRY_AFTER


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchResponse,
    summary="Send a notification to many users",
    responses=BATCH_RESPONSES,
)
async def send_batch(
    body: BatchRequest,
    caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_SEND)],
    resources: ResourcesDep,
    idempotency_key: send_input.IdempotencyKeyHeader = None,
) -> Response:
    """Render one template for each of 1-1,000 users and queue each notification. Each item says what became of
    its recipient, in request order: `queued`, `skipped` (preferences, devices, suppressions), or `rejected`
    with `user_not_found`, `duplicate` (the user is named earlier in the batch) or `rate_limited` (the recipient,
    or the application, is over its limit). A template or body error fails the whole batch and sends nothing.
    One `Idempotency-Key` covers the batch: a repeat answers the first response. A 503 means nothing was
    queued: retry with the same key."""
    with resources.send_slots.hold():
        accepted = await resources.batch_service.accept(body, caller, idempotency_key)
    headers = {**accepted.headers, "Idempotent-Replayed": "true"} if accepted.replayed else accepted.headers
    return Response(accepted.payload, status_code=202, headers=headers, media_type=JSON)


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


METADATA_KEY_LENGTH = 64
METADATA_VALUE_LENGTH = 256


def metadata_filters(request: Request) -> dict[str, str]:
    """The ``metadata.<key>=<value>`` query parameters as ``{key: value}``; 422 naming the parameter when
    there are too many, one repeats, or a key or value is empty, too long or not storable text."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if not name.startswith(METADATA_PREFIX):
            continue
        key = name.removeprefix(METADATA_PREFIX)
        if not 1 <= len(key) <= METADATA_KEY_LENGTH or not 1 <= len(value) <= METADATA_VALUE_LENGTH:
            raise ProblemError.field(
                name, f"needs a key of 1-{METADATA_KEY_LENGTH} and a value of 1-{METADATA_VALUE_LENGTH} characters"
            )
        if not (key.isprintable() and value.isprintable()):
            raise ProblemError.field(name, "keys and values must be printable text")
        if key in found:
            raise ProblemError.field(name, "is given more than once")
        found[key] = value
    if len(found) > MAX_METADATA_FILTERS:
        raise ProblemError.field("metadata", f"at most {MAX_METADATA_FILTERS} metadata.<key> parameters")
    return found


LIST_DESCRIPTION = f"""Notifications of the caller's application, newest first, one page at a time. Every filter
narrows the list and they combine freely with each other and with `cursor`.

`created_after` (inclusive) and `created_before` (exclusive) bound the time in the notification id, to the
millisecond. `updated_after` is exclusive.

**Metadata:** `metadata.<key>=<value>` keeps notifications whose `metadata` has `<key>` with exactly that
value, e.g. `?metadata.order=A-1001`. Up to {MAX_METADATA_FILTERS} of them (all must match), each key of
1-{METADATA_KEY_LENGTH} characters and value of 1-{METADATA_VALUE_LENGTH}, printable text. These parameters
cannot be declared one by one in this document; a malformed one is 422 naming it."""


@router.get(
    "",
    response_model=NotificationPage,
    summary="List notifications",
    description=LIST_DESCRIPTION,
    responses=problems(*AUTHENTICATED),
)
async def list_notifications(
    request: Request,
    caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)],
    resources: ResourcesDep,
    user_id: Annotated[uuid.UUID | None, Query(description="Only this user's notifications.")] = None,
    status: Annotated[StatusName | None, Query(description="Only notifications in this status.")] = None,
    channel: Annotated[ChannelName | None, Query(description="Only this channel's notifications.")] = None,
    template: Annotated[
        str | None, Query(max_length=64, pattern=SLUG_PATTERN, description="Only notifications of this template.")
    ] = None,
    created_after: Annotated[AwareDatetime | None, Query(description="Created at or after (with an offset).")] = None,
    created_before: Annotated[AwareDatetime | None, Query(description="Created before (with an offset).")] = None,
    updated_after: Annotated[AwareDatetime | None, Query(description="Last changed after (with an offset).")] = None,
    request_id: Annotated[
        str | None, Query(max_length=128, description="Only notifications sent by the request with this id.")
    ] = None,
    batch_id: Annotated[uuid.UUID | None, Query(description="Only the notifications of this batch send.")] = None,
    broadcast_id: Annotated[uuid.UUID | None, Query(description="Only the notifications of this topic send.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """Notifications, newest first, one page at a time, filtered as the description says."""
    filters = NotificationFilters(
        user_id=user_id,
        status=status,
        channel=channel,
        template=template,
        request_id=request_id,
        batch_id=batch_id,
        broadcast_id=broadcast_id,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        metadata=metadata_filters(request),
    )
    before = decode_cursor(cursor) if cursor else None
    items, last = await resources.store.page(caller.application_id, filters, before=before, limit=limit)
    return {"items": items, "next_cursor": encode_cursor(last) if last else None}


async def _status(resources: Resources, caller: Caller, notification_id: uuid.UUID) -> dict[str, Any]:
    """The notification of the caller's application; 404 for another application's, as for an unknown one."""
    found = await resources.store.get(caller.application_id, notification_id)
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
    notification_id: uuid.UUID, caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """A notification's current status."""
    return await _status(resources, caller, notification_id)


@router.get(
    "/{notification_id}/status",
    response_model=NotificationStatus,
    summary="Get a notification's status",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification_status(
    notification_id: uuid.UUID, caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """The same as `GET /v1/notifications/{id}`."""
    return await _status(resources, caller, notification_id)


@router.get(
    "/{notification_id}/events",
    response_model=NotificationEvents,
    summary="Get a notification's history",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification_events(
    notification_id: uuid.UUID, caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """Every state change, oldest first: each attempt, its provider reply, per-token push outcomes."""
    events = await resources.store.events(caller.application_id, notification_id)
    if events is None:
        raise ProblemError(404, f"notification {notification_id} does not exist")
    return {"items": events}


@router.get(
    "/{notification_id}/content",
    response_model=RenderedContent,
    summary="Get a notification's rendered content",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_notification_content(
    notification_id: uuid.UUID, caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """The subject or title and bodies the recipient was sent, while the content is kept (the console's detail
    page shows them); nulls once erased."""
    found = await resources.store.content(caller.application_id, notification_id)
    if found is None:
        raise ProblemError(404, f"notification {notification_id} does not exist")
    channel, envelope = found
    content = rendered_content(envelope)
    return {"notification_id": notification_id, "channel": channel, "kept": envelope is not None, **content}


@router.post(
    "/{notification_id}/cancel",
    response_model=NotificationStatus,
    summary="Cancel a notification",
    responses=problems(
        *AUTHENTICATED,
        404,
        409,
        descriptions={
            409: "`/problems/not-cancellable`: a worker claimed it or it is final (`notification` is its current "
            "state); or `/problems/cancel-busy`: it could not be decided within 2 s, retry.",
        },
    ),
)
async def cancel_notification(
    notification_id: uuid.UUID, caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_SEND)], resources: ResourcesDep
) -> dict[str, Any]:
    """Call a send off while no worker has claimed it (`scheduled`, `queued` or `retrying`): it becomes
    `cancelled` and is never sent, even from a copy already in a queue. Cancelling again answers the same."""
    try:
        found = await resources.store.cancel(caller.application_id, notification_id)
    except NotificationBusy:
        raise ProblemError(
            409, f"notification {notification_id} is being changed; retry", kind=ProblemType.CANCEL_BUSY
        ) from None
    if found is None:
        raise ProblemError(404, f"notification {notification_id} does not exist")
    if found["status"] != Status.CANCELLED:
        raise ProblemError(
            409,
            f"notification {notification_id} is {found['status']}: it can no longer be cancelled",
            kind=ProblemType.NOT_CANCELLABLE,
            extra={"notification": NotificationStatus.model_validate(found).model_dump(mode="json")},
        )
    return found
