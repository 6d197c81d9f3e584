"""``/v1/broadcasts``: the topic sends of ``POST /v1/notifications/send`` with ``to``, their counters, and
their cancel (docs/api.md "Broadcasts")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.auth import Caller
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.routes.docs import AUTHENTICATED, problems
from gateway.routes.notifications import decode_cursor, encode_cursor
from gateway.schemas.broadcasts import Broadcast, BroadcastPage
from gateway.scopes import Scope

router = APIRouter(prefix="/v1/broadcasts", tags=["broadcasts"])

Reader = Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)]


def _unknown(broadcast_id: uuid.UUID) -> ProblemError:
    return ProblemError(404, f"broadcast {broadcast_id} does not exist")


@router.get("", response_model=BroadcastPage, summary="List broadcasts", responses=problems(*AUTHENTICATED))
async def list_broadcasts(
    caller: Reader,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """The application's topic sends, newest first, one page at a time, each with its counters."""
    before = decode_cursor(cursor) if cursor else None
    items, last = await resources.broadcast_service.page(caller.application_id, before=before, limit=limit)
    return {"items": items, "next_cursor": encode_cursor(last) if last else None}


@router.get(
    "/{broadcast_id}", response_model=Broadcast, summary="Get a broadcast", responses=problems(*AUTHENTICATED, 404)
)
async def get_broadcast(broadcast_id: uuid.UUID, caller: Reader, resources: ResourcesDep) -> dict[str, Any]:
    """A topic send: its state, how many subscribers it has reached, and its notifications counted by status
    (at most a second old)."""
    found = await resources.broadcast_service.get(caller.application_id, broadcast_id)
    if found is None:
        raise _unknown(broadcast_id)
    return found


@router.post(
    "/{broadcast_id}/cancel",
    status_code=202,
    response_model=Broadcast,
    summary="Cancel a broadcast",
    responses=problems(*AUTHENTICATED, 404),
)
async def cancel_broadcast(
    broadcast_id: uuid.UUID,
    caller: Annotated[Caller, requires(Scope.NOTIFICATIONS_SEND)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """Call a topic send off: it becomes `cancelled` and its fan-out stops at its next page (one already `done`
    stays so), and its notifications no worker has claimed yet are cancelled (the others go out). Cancelling
    again answers the same."""
    found = await resources.broadcast_service.cancel(caller.application_id, broadcast_id)
    if found is None:
        raise _unknown(broadcast_id)
    return found
