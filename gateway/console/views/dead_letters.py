"""Dead letters: the failed messages (``/v1/dead-letters``), one with its envelope, replay and discard. Until
the gateway has the dead-letter routes (404), the page says so instead of failing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import segment
from gateway.console.web import ApiDep, SessionDep, failure, field, form, page, redirect, require

router = APIRouter()
FILTERS = ("channel", "reason", "failed_after", "failed_before", "cursor")


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letter_list(request: Request, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    query = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    reply = await api.get("/v1/dead-letters", limit=50, **query)
    return page(
        request,
        "dead_letters.html",
        session,
        active="dead-letters",
        query=query,
        reply=reply,
        items=reply.body.get("items", []) if reply.ok else [],
        manage=session.can("dead_letters:manage"),
    )


@router.get("/dead-letters/{dead_letter_id}", response_class=HTMLResponse)
async def dead_letter(request: Request, dead_letter_id: str, session: SessionDep, api: ApiDep) -> Response:
    require(session, "notifications:read")
    found = await api.get(f"/v1/dead-letters/{segment(dead_letter_id)}")
    if not found.ok:
        return failure(request, session, found, "Dead letter")
    return page(
        request,
        "dead_letter.html",
        session,
        active="dead-letters",
        d=found.body,
        manage=session.can("dead_letters:manage"),
    )


@router.post("/dead-letters/{dead_letter_id}/replay")
async def replay(request: Request, dead_letter_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "dead_letters:manage")
    reply = await api.write(
        "POST", f"/v1/dead-letters/{segment(dead_letter_id)}/replay", action="dead_letter.replay", target=dead_letter_id
    )
    if not reply.ok:
        return redirect("/console/dead-letters", f"Not replayed: {reply.problem}")
    outcome = reply.body.get("outcome", "replayed") if isinstance(reply.body, dict) else "replayed"
    note = reply.body.get("note") if isinstance(reply.body, dict) else None
    return redirect("/console/dead-letters", f"{outcome.capitalize()}." + (f" {note}" if note else ""))


@router.post("/dead-letters/replay")
async def replay_matching(request: Request, session: SessionDep, api: ApiDep) -> Response:
    """Replay every dead letter the list's filters match (``POST /v1/dead-letters/replay``)."""
    fields = await form(request, session)
    require(session, "dead_letters:manage")
    body: dict[str, object] = {
        name: field(fields, name) for name in FILTERS if name != "cursor" and field(fields, name)
    }
    target = " ".join(f"{k}={v}" for k, v in body.items()) or "all"
    reply = await api.write(
        "POST", "/v1/dead-letters/replay", action="dead_letter.replay_matching", target=target, json=body
    )
    if not reply.ok:
        return redirect("/console/dead-letters", f"Not replayed: {reply.problem}")
    return redirect("/console/dead-letters", f"Replayed {reply.body.get('replayed', 0)}.")


@router.post("/dead-letters/{dead_letter_id}/discard")
async def discard(request: Request, dead_letter_id: str, session: SessionDep, api: ApiDep) -> Response:
    await form(request, session)
    require(session, "dead_letters:manage")
    reply = await api.write(
        "DELETE", f"/v1/dead-letters/{segment(dead_letter_id)}", action="dead_letter.discard", target=dead_letter_id
    )
    return redirect("/console/dead-letters", "Discarded." if reply.ok else f"Not discarded: {reply.problem}")
