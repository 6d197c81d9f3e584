"""``/v1/me``: what a user's own token reads about that user, in the token's application."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.deps import CallerDep, ResourcesDep
from gateway.errors import ProblemError
from gateway.feed import feed_item
from gateway.routes.docs import AUTHENTICATED, problems
from gateway.routes.notifications import decode_cursor, encode_cursor
from gateway.schemas.feed import FeedPage

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get(
    "/notifications",
    response_model=FeedPage,
    summary="List my notifications",
    responses=problems(
        *AUTHENTICATED,
        429,
        descriptions={
            403: "An API key: this route is for a user's own token.",
            429: "Too many requests with this user's token.",
        },
    ),
)
async def my_notifications(
    caller: CallerDep,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """The notifications sent to the token's user, newest first, with their rendered content while it is kept:
    the feed an app shows in its own inbox."""
    if caller.user_id is None:
        raise ProblemError(403, "this route reads the notifications of a user's own token; an API key has none")
    before = decode_cursor(cursor) if cursor else None
    rows, last = await resources.store.feed(caller.application_id, caller.user_id, before=before, limit=limit)
    return {"items": [feed_item(row) for row in rows], "next_cursor": encode_cursor(last) if last else None}
