"""``/problems/<name>``: what each problem ``type`` the gateway answers with means, so the URI a client matches on
also explains itself. Needs no credentials."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter

from gateway.errors import ProblemError
from gateway.problem_types import KINDS, ProblemType
from gateway.routes.docs import problems
from gateway.schemas.problems import ProblemTypeDescription

router = APIRouter(prefix="/problems", tags=["operations"])


@router.get(
    "/{name}",
    response_model=ProblemTypeDescription,
    summary="Describe a problem type",
    responses=problems(404, 422, descriptions={404: "No problem type has this name."}),
)
async def describe_problem(name: str) -> dict[str, Any]:
    """The meaning of the problem whose `type` is `/problems/{name}`."""
    try:
        kind = ProblemType(name)
    except ValueError:
        raise ProblemError(404, f"no problem type is named {name!r}") from None
    meaning = KINDS[kind]
    return {
        "type": kind.uri,
        "title": HTTPStatus(meaning.status).phrase,
        "status": meaning.status,
        "description": meaning.description,
    }
