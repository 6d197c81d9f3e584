"""``/v1/dead-letters``: what the workers gave up on, to inspect, replay after a fix, or discard (docs/api.md
"Dead letters"). An application's key sees its own; the operator's key sees every application's (and poison,
which belongs to none) unless ``X-Application-Id`` names one."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from google.protobuf import json_format
from pydantic import AwareDatetime
from starlette.responses import Response

from common.dead_letter_replay import Action, Result
from common.dead_letter_store import DeadLetterFilters, StoredDeadLetter
from common.envelope import EnvelopeError, decode_envelope
from common.page_tokens import MAX_PAGE_SIZE
from gateway.auth import Caller
from gateway.deps import ResourcesDep, confined_to, requires
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.routes.notifications import decode_cursor, encode_cursor
from gateway.schemas.dead_letters import (
    REASON_PATTERN,
    DeadLetterDetail,
    DeadLetterPage,
    DeadLetterReplayed,
    ReplayCounts,
    ReplayFilter,
)
from gateway.schemas.notifications import ChannelName
from gateway.scopes import Scope

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])

Reader = Annotated[Caller, requires(Scope.NOTIFICATIONS_READ)]
Manager = Annotated[Caller, requires(Scope.DEAD_LETTERS_MANAGE)]


async def _bodies(
    resources: Resources, scope: uuid.UUID | None, letters: list[StoredDeadLetter]
) -> list[dict[str, Any]]:
    """The REST bodies of ``letters``, each with its notification as it is now."""
    ids = [letter.notification_id for letter in letters if letter.notification_id is not None]
    notifications = await resources.store.get_many(scope, ids)
    bodies = []
    for letter in letters:
        body: dict[str, Any] = {
            "id": letter.id,
            "notification_id": letter.notification_id,
            "channel": letter.channel,
            "reason": letter.reason,
            "attempts": letter.attempts,
            "failed_at": letter.failed_at,
        }
        if letter.notification_id in notifications:
            body["notification"] = notifications[letter.notification_id]
        bodies.append(body)
    return bodies


async def _found(resources: Resources, scope: uuid.UUID | None, dead_letter_id: uuid.UUID) -> StoredDeadLetter:
    letter = await resources.dead_letters.get(scope, dead_letter_id)
    if letter is None:
        raise ProblemError(404, f"dead letter {dead_letter_id} does not exist")
    return letter


@router.get("", response_model=DeadLetterPage, summary="List dead letters", responses=problems(*AUTHENTICATED))
async def list_dead_letters(
    request: Request,
    caller: Reader,
    resources: ResourcesDep,
    channel: Annotated[ChannelName | None, Query(description="Only this channel's.")] = None,
    reason: Annotated[
        str | None, Query(max_length=64, pattern=REASON_PATTERN, description="Only those given up for this reason.")
    ] = None,
    failed_after: Annotated[AwareDatetime | None, Query(description="Failed at or after (with an offset).")] = None,
    failed_before: Annotated[AwareDatetime | None, Query(description="Failed before (with an offset).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """Dead letters newest first, one page at a time; every filter narrows the list."""
    scope = confined_to(caller, request)
    before = decode_cursor(cursor) if cursor else None
    filters = DeadLetterFilters(channel, reason, failed_after, failed_before)
    found = await resources.dead_letters.page(scope, filters, before, limit + 1)
    page = found[:limit]
    return {
        "items": await _bodies(resources, scope, page),
        "next_cursor": encode_cursor(page[-1].id) if len(found) > limit else None,
    }


@router.get(
    "/{dead_letter_id}",
    response_model=DeadLetterDetail,
    summary="Get a dead letter",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_dead_letter(
    dead_letter_id: uuid.UUID, request: Request, caller: Reader, resources: ResourcesDep
) -> dict[str, Any]:
    """One dead letter with its headers, its raw body, and the body decoded as an envelope when it parses."""
    scope = confined_to(caller, request)
    letter = await _found(resources, scope, dead_letter_id)
    [body] = await _bodies(resources, scope, [letter])
    envelope, problem = None, None
    try:
        envelope = json_format.MessageToDict(decode_envelope(letter.body), preserving_proto_field_name=True)
    except EnvelopeError as error:
        problem = str(error)
    return {
        **body,
        "detail": letter.detail,
        "headers": letter.headers,
        "message_id": letter.message_id,
        "envelope": envelope,
        "envelope_error": problem,
        "body_base64": base64.b64encode(letter.body).decode(),
    }


def _replayed(result: Result) -> dict[str, Any]:
    """The 202 of a replay that happened; the problem of one that could not."""
    if result.action is Action.KEPT:
        if result.publish_failed:
            raise ProblemError(
                503, f"the broker did not take it; it is kept: {result.note}", headers={"Retry-After": "5"}
            )
        raise ProblemError(409, f"not replayed: {result.note}", kind=ProblemType.NOT_REPLAYABLE)
    return {
        "id": result.letter.id,
        "notification_id": result.letter.notification_id,
        "outcome": result.action.value,
        "note": result.note,
    }


@router.post(
    "/replay",
    status_code=202,
    response_model=ReplayCounts,
    summary="Replay dead letters by filter",
    responses=problems(*AUTHENTICATED, *WITH_BODY),
)
async def replay_matching(
    body: ReplayFilter, request: Request, caller: Manager, resources: ResourcesDep
) -> dict[str, int]:
    """Replay up to `limit` dead letters that match, oldest first; each as `POST /v1/dead-letters/{id}/replay`
    would, and those that cannot be replayed stay."""
    filters = DeadLetterFilters(body.channel, body.reason, body.failed_after, body.failed_before)
    letters = await resources.dead_letters.oldest(confined_to(caller, request), filters, body.limit)
    counts = dict.fromkeys((Action.REPLAYED, Action.REMOVED, Action.KEPT), 0)
    for letter in letters:
        counts[(await resources.replayer.replay(letter)).action] += 1
    return {action.value: count for action, count in counts.items()}


@router.post(
    "/{dead_letter_id}/replay",
    status_code=202,
    response_model=DeadLetterReplayed,
    summary="Replay a dead letter",
    responses=problems(*AUTHENTICATED, 404, 409),
)
async def replay_one(
    dead_letter_id: uuid.UUID, request: Request, caller: Manager, resources: ResourcesDep
) -> dict[str, Any]:
    """Send the notification again through its work queue, its attempts reset (status back to `queued`); the
    dead letter is deleted once the broker confirmed. 409 `not-replayable` keeps it (poison, or another copy is
    under way); 503 when the broker did not take it (the notification stays `failed`)."""
    letter = await _found(resources, confined_to(caller, request), dead_letter_id)
    return _replayed(await resources.replayer.replay(letter))


@router.delete(
    "/{dead_letter_id}", status_code=204, summary="Discard a dead letter", responses=problems(*AUTHENTICATED, 404)
)
async def discard(dead_letter_id: uuid.UUID, request: Request, caller: Manager, resources: ResourcesDep) -> Response:
    """Forget a dead letter without sending it; its notification stays `failed`."""
    if not await resources.dead_letters.delete(confined_to(caller, request), dead_letter_id):
        raise ProblemError(404, f"dead letter {dead_letter_id} does not exist")
    return Response(status_code=204)
