"""The request-description layer: every API call is first a :class:`Call`, a plain value saying what to send and
how to read the answer. The sync and the async client execute the same calls, so building requests and parsing
answers exist once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
IDEMPOTENCY_HEADER = "Idempotency-Key"

Decoder = Callable[[httpx.Response], T]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to decode its success answer. A send carries its ``Idempotency-Key`` from the
    moment it is built, so every retry of this value is the same logical send."""

    method: str
    path: str
    decode: Decoder[T]
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def idempotent(self) -> bool:
        """Whether repeating the request cannot do twice what it does once: safe to retry after a lost answer."""
        return self.method in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in self.headers

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request of this call on ``http`` (its base URL and credentials)."""
        params = {name: value for name, value in self.params.items() if value is not None}
        return http.build_request(
            self.method, self.path, params=_query(params), json=self.json, headers=dict(self.headers)
        )


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the gateway reads them: booleans lower case, everything else as ``str``."""
    return {name: (str(value).lower() if isinstance(value, bool) else str(value)) for name, value in params.items()}


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields given, leaving out those that are ``None`` (the gateway's defaults apply)."""
    return {name: _plain(value) for name, value in fields.items() if value is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def idempotency_headers(key: str | None) -> dict[str, str]:
    """The header of a send: the caller's key, else a fresh UUID for this one logical send."""
    return {IDEMPOTENCY_HEADER: key or str(uuid.uuid4())}


def model(cls: type[M]) -> Decoder[M]:
    """Decode the JSON answer as ``cls``."""
    return lambda response: cls.model_validate(response.json())


def adapted(kind: Any) -> Decoder[Any]:
    """Decode the JSON answer as any type pydantic understands (a generic page, a list)."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    return lambda response: adapter.validate_python(response.json())


def no_content(response: httpx.Response) -> None:
    """The answer of a 204: nothing to read."""
    return None
