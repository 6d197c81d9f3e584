"""``POST /v1/notifications/send`` reads its request itself, to spare FastAPI's dependency solving and
validation, and answers as FastAPI did: bad JSON (400), then the caller (401, 403), then every bad field (422)."""

from __future__ import annotations

import email.message
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_TEMPLATE
from pydantic import Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from gateway.auth import Authenticator, Caller
from gateway.deps import APPLICATION_HEADER, api_key_scheme
from gateway.routes.docs import parameter_schema
from gateway.schemas.notifications import SendRequest, TopicSendRequest
from gateway.scopes import Scope

IDEMPOTENCY_KEY = "Idempotency-Key"
_KEY_DESCRIPTION = "Repeats with the same key and body within 24 h return the first response."
_KEY_RULES: dict[str, Any] = {
    "min_length": 1,
    "max_length": 255,
    "pattern": r"^[ -~]+$",
    "description": _KEY_DESCRIPTION,
}
_idempotency_key: TypeAdapter[str | None] = TypeAdapter(Annotated[str | None, Field(**_KEY_RULES)])
IdempotencyKeyHeader = Annotated[str | None, Header(alias=IDEMPOTENCY_KEY, **_KEY_RULES)]
"""The ``Idempotency-Key`` of a route that FastAPI reads (the batch), with the send's rules."""
_HEADER = ("header", IDEMPOTENCY_KEY)
_send_request = TypeAdapter(SendRequest)
_topic_send_request = TypeAdapter(TopicSendRequest)
TOPIC_FIELD = "to"
"""The field of a topic send that takes the place of ``user_id``."""
SCOPES = (Scope.NOTIFICATIONS_SEND,)
"""What the caller's key must hold."""
_BOTH_RECIPIENTS = {
    "type": "value_error",
    "loc": ("body", TOPIC_FIELD),
    "msg": "give either user_id or to (a topic), not both",
}
_MISSING = object()
"""The body of a request that sent none."""

OPENAPI: dict[str, Any] = {
    "security": [{api_key_scheme.scheme_name: list(SCOPES)}],
    "parameters": [
        {
            "name": IDEMPOTENCY_KEY,
            "in": "header",
            "required": False,
            "schema": parameter_schema(_idempotency_key, IDEMPOTENCY_KEY),
            "description": _KEY_DESCRIPTION,
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": REF_TEMPLATE.format(model=SendRequest.__name__)},
                        {"$ref": REF_TEMPLATE.format(model=TopicSendRequest.__name__)},
                    ]
                }
            }
        },
    },
}
"""The route's ``openapi_extra``: what FastAPI documented when it read the request itself."""


@dataclass(frozen=True, slots=True)
class SendInput:
    """A send request as read: its body (to a user or to a topic), the calling application's key and its
    Idempotency-Key."""

    body: SendRequest | TopicSendRequest
    caller: Caller
    idempotency_key: str | None


async def read_send(request: Request, authenticator: Authenticator) -> SendInput:
    """The request as read, or FastAPI's error. Only the common request takes pydantic's JSON parser; the rest is
    read as FastAPI read it (``json.loads``, then validation), whose answers and leniencies (a BOM, NaN) differ."""
    raw = await request.body()
    headers = request.headers
    api_key = headers.get(api_key_scheme.model.name)
    idempotency_key = headers.get(IDEMPOTENCY_KEY)
    key_errors = [] if idempotency_key is None else _validate(_idempotency_key, idempotency_key, _HEADER)[1]
    body: SendRequest | TopicSendRequest | None = _parsed(raw) if api_key and not key_errors else None
    document = _document(raw, headers.get("content-type")) if body is None else None
    caller = await authenticator.authenticate(api_key, headers.get("authorization"), headers.get(APPLICATION_HEADER))
    caller.require_application()
    caller.require_scopes(SCOPES)
    if body is None:
        body = _validated(document, key_errors)
    return SendInput(body, caller, idempotency_key)


def _parsed(raw: bytes) -> SendRequest | None:
    try:
        return SendRequest.model_validate_json(raw)
    except ValidationError:
        return None


def _document(raw: bytes, content_type: str | None) -> Any:
    """The body as FastAPI handed it to validation: missing, the JSON value, or the bytes of a body not declared
    as JSON; 400 for a JSON body that does not parse, as FastAPI answered."""
    if not raw:
        return _MISSING
    if not _declares_json(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        problem = {"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([problem]) from None
    except Exception:  # not UTF-8, or nested deeper than the interpreter's recursion limit
        raise HTTPException(400, "There was an error parsing the body") from None


def _declares_json(content_type: str | None) -> bool:
    """FastAPI's test: ``application/json`` or ``application/*+json``."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _validated(document: Any, key_errors: list[dict[str, Any]]) -> SendRequest | TopicSendRequest:
    """The body validated as FastAPI validated it, as a topic send when it has ``to``; 422 with the
    Idempotency-Key's and the body's errors, naming ``to`` when the body has both ``to`` and ``user_id``."""
    body: SendRequest | TopicSendRequest | None = None
    body_errors = [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
    to_topic = isinstance(document, dict) and TOPIC_FIELD in document
    if to_topic and "user_id" in document:
        body_errors = [_BOTH_RECIPIENTS]
    elif to_topic:
        body, body_errors = _validate(_topic_send_request, document, ("body",))
    elif document is not _MISSING:
        body, body_errors = _validate(_send_request, document, ("body",))
    if body is None or key_errors:
        raise RequestValidationError([*key_errors, *body_errors])
    return body


def _validate(adapter: TypeAdapter[Any], value: Any, location: tuple[str, ...]) -> tuple[Any, list[dict[str, Any]]]:
    """``value`` validated as FastAPI validated a parameter, or None and its errors under ``location``."""
    try:
        return adapter.validate_python(value, from_attributes=True), []
    except ValidationError as error:
        return None, [{**item, "loc": location + tuple(item["loc"])} for item in error.errors(include_url=False)]
