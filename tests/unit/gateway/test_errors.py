"""gRPC status codes and validation errors become the HTTP problems of docs/design.md §3 REST."""

from __future__ import annotations

import asyncpg
import grpc
import httpx
import pytest
from fastapi import FastAPI
from grpc.aio import AioRpcError, Metadata

from common.grpc.errors import FieldViolation, to_status
from gateway.errors import field_path, install_error_handlers, is_internal_key_refusal, rpc_problem


def rpc_error(code: grpc.StatusCode, message: str, violations: list[FieldViolation] | None = None) -> AioRpcError:
    status = to_status(code, message, violations or [])
    return AioRpcError(code, Metadata(), Metadata(*status.trailing_metadata), details=message)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 422),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503),
        (grpc.StatusCode.UNAUTHENTICATED, 503),
        (grpc.StatusCode.INTERNAL, 503),
        (grpc.StatusCode.UNKNOWN, 503),
    ],
)
def test_status_codes_map_to_http(code: grpc.StatusCode, status: int) -> None:
    assert rpc_problem(rpc_error(code, "message")).status == status


def test_a_backend_that_refuses_our_key_is_503_and_logged_loudly(caplog: pytest.LogCaptureFixture) -> None:
    error = rpc_error(grpc.StatusCode.UNAUTHENTICATED, "wrong x-internal-api-key metadata")
    problem = rpc_problem(error)
    assert problem.status == 503
    assert "internal-api-key" not in problem.detail
    assert is_internal_key_refusal(error)
    assert any(record.levelname == "ERROR" for record in caplog.records)
    assert not is_internal_key_refusal(rpc_error(grpc.StatusCode.UNAUTHENTICATED, "wrong email or password"))


def test_field_violations_become_the_errors_list() -> None:
    error = rpc_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "variables.name: is undefined",
        [FieldViolation("variables.name", "is undefined"), FieldViolation("locale", "bad")],
    )
    problem = rpc_problem(error)
    assert problem.status == 422
    assert problem.errors == [
        {"field": "variables.name", "message": "is undefined"},
        {"field": "locale", "message": "bad"},
    ]


def test_an_invalid_argument_without_details_still_lists_an_error() -> None:
    problem = rpc_problem(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "bad request"))
    assert problem.errors == [{"field": "body", "message": "bad request"}]


@pytest.mark.parametrize(
    ("location", "path"),
    [
        (("body", "variables", "name"), "variables.name"),
        (("path", "notification_id"), "notification_id"),
        (("query", "limit"), "limit"),
        (("body",), "body"),
        (("body", "items", 0, "token"), "items.0.token"),
    ],
)
def test_field_paths(location: tuple, path: str) -> None:
    assert field_path(location) == path


async def test_a_connection_the_database_dropped_mid_protocol_is_503_not_500() -> None:
    """asyncpg's InternalClientError ("cannot switch to state 12; another operation (2) is in progress") came out
    of a pooled connection during a PostgreSQL restart (chaos scenario 2): nothing was accepted, so 503."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/insert")
    async def insert() -> None:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        response = await client.get("/insert")

    assert response.status_code == 503
    assert response.json()["detail"] == "a dependency is unavailable; nothing was accepted, retry later"
