"""The documented error responses of each route, as ``application/problem+json``, and the schemas of what
a route reads itself, written as FastAPI writes the schemas it generates."""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.openapi.constants import REF_TEMPLATE
from fastapi.openapi.models import Schema
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from gateway.schemas.problems import PROBLEM_MEDIA_TYPE

_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No valid API key or user token.",
    403: "The caller may not do this (a user token on another user's resources, or on an application's route).",
    404: "It does not exist.",
    409: "It conflicts with the current state.",
    413: "The body is over 64 KiB.",
    415: "The body is not application/json.",
    422: "A field failed validation; `errors` names each.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "A dependency is unavailable; nothing was accepted, safe to retry.",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

AUTHENTICATED = (401, 403, 422, 503)
WITH_BODY = (400, 413, 415)


def problems(*codes: int, descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of ``codes`` with the problem body (and ``Retry-After`` on 429)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        entry: dict[str, Any] = {
            "description": (descriptions or {}).get(code, _DESCRIPTIONS[code]),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
        if code == 429:
            entry["headers"] = RETRY_AFTER
        responses[code] = entry
    return responses


def parameter_schema(adapter: TypeAdapter[Any], title: str) -> dict[str, Any]:
    """The schema of a parameter as FastAPI documents it: in pydantic's key order (not sorted), then the title."""
    mode: JsonSchemaMode = "validation"
    generator = GenerateJsonSchema(ref_template=REF_TEMPLATE)
    mapping, _ = generator.generate_definitions([(title, mode, adapter.core_schema)])
    return {**mapping[(title, mode)], "title": title}


def component_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of a model as FastAPI puts it in the components: through its OpenAPI ``Schema``, without nulls."""
    schema = Schema.model_validate(model.model_json_schema(ref_template=REF_TEMPLATE))
    found: dict[str, Any] = jsonable_encoder(schema, by_alias=True, exclude_none=True)
    return found
