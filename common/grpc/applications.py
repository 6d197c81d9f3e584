"""The application a UserService or TemplateService request acts in (docs/design.md §3 gRPC): its
``application_id``, or the ``default`` application when it is empty, which release 2 still allows and counts so
an operator sees which callers have yet to name one."""

from __future__ import annotations

import uuid
from typing import Protocol

from prometheus_client import Counter

from common.applications import DEFAULT_APPLICATION_ID
from common.ids import parse_uuid

_REQUEST_SUFFIX = "Request"


class ApplicationRequest(Protocol):
    """A request message with an ``application_id`` field."""

    application_id: str


def requests_without_application(service: str) -> Counter:
    """The counter ``<service>_requests_without_application_total{rpc}``; made once per service."""
    return Counter(
        f"{service}_requests_without_application_total",
        "Requests that named no application and act in the default one (allowed during release 2 only).",
        ["rpc"],
    )


def rpc_of(request: ApplicationRequest) -> str:
    """The RPC a request message is for: ``GetUser`` for a ``GetUserRequest``."""
    return type(request).__name__.removesuffix(_REQUEST_SUFFIX)


def application_id(request: ApplicationRequest, without_application: Counter) -> uuid.UUID:
    """The request's application: the default one (counted in ``without_application``) when it names none;
    ValueError when it is not a UUID."""
    if not request.application_id:
        without_application.labels(rpc_of(request)).inc()
        return DEFAULT_APPLICATION_ID
    parsed = parse_uuid(request.application_id)
    if parsed is None:
        raise ValueError("must be a UUID")
    return parsed


def purged_application_id(value: str) -> uuid.UUID:
    """The application a purge names: a UUID other than the default application's, which is never purged;
    ValueError otherwise."""
    if not value:
        raise ValueError("is required: the default application is never purged")
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValueError("must be a UUID")
    if parsed == DEFAULT_APPLICATION_ID:
        raise ValueError("names the default application, which is never purged")
    return parsed


MAX_PURGE_LIMIT = 10_000
"""The most rows one purge call deletes: a short transaction, called again until it answers 0."""


def purge_limit(value: int) -> int:
    """A purge's ``limit``: 1 to :data:`MAX_PURGE_LIMIT`; ValueError otherwise."""
    if not 1 <= value <= MAX_PURGE_LIMIT:
        raise ValueError(f"must be between 1 and {MAX_PURGE_LIMIT}")
    return value
