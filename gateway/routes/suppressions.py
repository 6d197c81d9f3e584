"""``/v1/suppressions``: the addresses an application no longer emails (docs/api.md "Suppressions")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import JSONResponse, Response

from common.email_address import MAX_EMAIL_LENGTH
from common.page_tokens import MAX_PAGE_SIZE, InvalidPageToken
from gateway.auth import Caller
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.suppressions import Suppression, SuppressionCreate, SuppressionPage, SuppressionReason
from gateway.scopes import Scope
from gateway.suppressions import PAGE_TOKENS
from gateway.suppressions import Suppression as StoredSuppression

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])

Manager = Annotated[Caller, requires(Scope.SUPPRESSIONS_MANAGE)]
Address = Annotated[str, Path(max_length=MAX_EMAIL_LENGTH, description="The suppressed address (any case).")]


def suppression_body(found: StoredSuppression) -> dict[str, Any]:
    return {
        "address": found.address,
        "channel": "email",
        "reason": found.reason,
        "notification_id": found.notification_id,
        "created_at": found.created_at,
    }


@router.get("", response_model=SuppressionPage, summary="List suppressions", responses=problems(*AUTHENTICATED))
async def list_suppressions(
    caller: Manager,
    resources: ResourcesDep,
    channel: Annotated[Literal["email", "push"] | None, Query(description="Only `email` has any.")] = None,
    reason: Annotated[SuppressionReason | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """The application's suppressed addresses, newest first."""
    try:
        after = PAGE_TOKENS.decode(cursor) if cursor else None
    except InvalidPageToken:
        raise ProblemError.field("cursor", "is not a cursor this API returned") from None
    if channel == "push":  # push has no suppressions: a dead device token is removed instead
        return {"items": [], "next_cursor": None}
    found = await resources.suppressions.page(caller.application_id, reason, after, limit + 1)
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    return {
        "items": [suppression_body(item) for item in page],
        "next_cursor": PAGE_TOKENS.encode((last.created_at, last.address)) if last else None,
    }


@router.post(
    "",
    status_code=201,
    response_model=Suppression,
    summary="Suppress an address",
    responses={
        200: {"description": "The address was already suppressed: its row, unchanged.", "model": Suppression},
        **problems(*AUTHENTICATED, *WITH_BODY),
    },
)
async def add_suppression(body: SuppressionCreate, caller: Manager, resources: ResourcesDep) -> Response:
    """Stop emailing an address: every send to it is `skipped` (`suppressed`) until it is removed."""
    found, created = await resources.suppressions.add(caller.application_id, body.address, body.reason)
    payload = Suppression.model_validate(suppression_body(found)).model_dump(mode="json")
    return JSONResponse(payload, status_code=201 if created else 200)


@router.delete("/{address}", status_code=204, summary="Remove a suppression", responses=problems(*AUTHENTICATED, 404))
async def remove_suppression(address: Address, caller: Manager, resources: ResourcesDep) -> Response:
    """Email the address again (after a mailbox was fixed, or a complaint withdrawn)."""
    if not await resources.suppressions.remove(caller.application_id, address):
        raise ProblemError(404, "this address is not suppressed")
    return Response(status_code=204)
