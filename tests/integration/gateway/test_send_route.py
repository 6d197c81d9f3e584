"""POST /v1/notifications/send reads its request itself, yet answers every bad request byte for byte as the
route did when FastAPI read it (dependencies, header and body parameters); one route answers it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Header
from starlette.routing import Match

from common.tokens import issue_token
from gateway.deps import ApplicationDep
from gateway.errors import install_error_handlers
from gateway.middleware import EdgeMiddleware
from gateway.resources import Resources
from gateway.schemas.notifications import SendRequest
from tests.integration.gateway.harness import API_KEY, Gateway, create_user
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body
from tests.support.user_service import JWT_SECRET

pytestmark = pytest.mark.usefixtures("templates")

PATH = "/v1/notifications/send"
USER_ID = str(uuid.uuid4())
VALID = json.dumps({"user_id": USER_ID, "channel": "email", "template": "welcome"}).encode()
NOT_VALID = json.dumps({"user_id": "not-a-uuid", "channel": "fax", "extra": 1}).encode()
KEY = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
NO_KEY = {"Content-Type": "application/json"}
# made at collection: valid for a day, so a long suite reaching these tests late still sends a live token
BEARER = {**NO_KEY, "Authorization": f"Bearer {issue_token(USER_ID, JWT_SECRET, 86_400, version=0)}"}
Post = Callable[..., Awaitable[tuple[httpx.Response, httpx.Response]]]


def fastapi_reading(resources: Resources) -> FastAPI:
    """The send route as FastAPI read it before (an ``ApplicationDep``, an ``Idempotency-Key`` header parameter
    and a ``SendRequest`` body): the answers to keep."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.resources = resources

    @app.post(PATH, status_code=202)
    async def send(
        body: SendRequest,
        caller: ApplicationDep,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[ -~]+$")
        ] = None,
    ) -> None:
        """Reached only by a request the gateway would accept."""

    app.add_middleware(EdgeMiddleware)
    return app


@pytest.fixture
async def post(gateway: Gateway) -> AsyncIterator[Post]:
    """Posts one request to the gateway and to :func:`fastapi_reading`: both answers (no default headers)."""
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway") as ours,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fastapi_reading(gateway.resources)), base_url="http://gateway"
        ) as fastapi,
    ):

        async def both(
            headers: dict[str, Any], body: bytes, chunked: bool = False
        ) -> tuple[httpx.Response, httpx.Response]:
            headers = {**headers, "X-Request-ID": f"req-{uuid.uuid4().hex}"}
            return (
                await ours.post(PATH, content=in_one_chunk(body) if chunked else body, headers=headers),
                await fastapi.post(PATH, content=in_one_chunk(body) if chunked else body, headers=headers),
            )

        yield both


async def in_one_chunk(body: bytes) -> AsyncIterator[bytes]:
    """The body streamed: no Content-Length, and httpx sends no Content-Type."""
    yield body


BAD_REQUESTS: list[tuple[str, dict[str, Any], bytes, int]] = [
    ("no credentials", NO_KEY, VALID, 401),
    ("an empty API key", {**NO_KEY, "X-API-Key": ""}, VALID, 401),
    ("a wrong API key", {**NO_KEY, "X-API-Key": "not-a-key"}, VALID, 401),
    ("a user's bearer token", BEARER, VALID, 403),
    ("a bearer token that is not valid", {**NO_KEY, "Authorization": "Bearer garbage"}, VALID, 401),
    ("an empty Idempotency-Key", {**KEY, "Idempotency-Key": ""}, VALID, 422),
    ("an Idempotency-Key of 256 characters", {**KEY, "Idempotency-Key": "k" * 256}, VALID, 422),
    ("an Idempotency-Key with a tab", {**KEY, "Idempotency-Key": "a\tb"}, VALID, 422),
    ("an Idempotency-Key that is not ASCII", {**KEY, "Idempotency-Key": "clé".encode("latin-1")}, VALID, 422),
    ("fields that fail validation", KEY, NOT_VALID, 422),
    ("fields missing", KEY, b'{"channel": "email"}', 422),
    ("a body that is a list", KEY, b"[]", 422),
    ("no body", KEY, b"", 422),
    ("a bad Idempotency-Key and bad fields", {**KEY, "Idempotency-Key": ""}, NOT_VALID, 422),
    ("a body that is not JSON", KEY, b"{not json", 400),
    ("a body that is not UTF-8", KEY, VALID.replace(b"welcome", b"w\xffelcome"), 400),
    ("a lone surrogate", KEY, VALID.replace(b"welcome", b"\\ud800"), 400),
    ("JSON nested too deep", KEY, b"[" * 5000 + b"]" * 5000, 400),
    ("no credentials and a body that is not JSON", NO_KEY, b"{not json", 400),
    ("no credentials and fields that fail validation", NO_KEY, NOT_VALID, 401),
    ("a bearer token and fields that fail validation", BEARER, NOT_VALID, 403),
]


@pytest.mark.parametrize(
    ("headers", "body", "status"), [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS]
)
async def test_a_bad_request_gets_the_answer_fastapi_gave(
    post: Post, headers: dict[str, Any], body: bytes, status: int
) -> None:
    answer, expected = await post(headers, body)
    assert_problem(answer, status)
    assert answer.content == expected.content
    assert answer.headers.multi_items() == expected.headers.multi_items()


async def test_a_streamed_body_without_a_content_type_is_not_read_as_json(post: Post) -> None:
    answer, expected = await post({"X-API-Key": API_KEY, "Idempotency-Key": ""}, VALID, chunked=True)
    assert [error["field"] for error in assert_problem(answer, 422)["errors"]] == ["Idempotency-Key", "body"]
    assert answer.content == expected.content


async def test_a_good_send_is_202(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    for headers in ({}, {"Idempotency-Key": f"{uuid.uuid4().hex} ~".ljust(255, "k")}):
        response = await gateway.client.post(PATH, json=send_body(user), headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued"
        assert response.headers["content-type"] == "application/json"
        assert "x-ratelimit-limit" in response.headers


async def test_a_body_only_json_loads_reads_is_accepted_as_before(gateway: Gateway) -> None:
    """pydantic's JSON parser refuses a byte order mark; FastAPI's ``json.loads`` read it, and still does."""
    user = await create_user(gateway.client)
    body = b"\xef\xbb\xbf" + json.dumps(send_body(user)).encode()
    response = await gateway.client.post(PATH, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_one_route_answers_post_send(gateway: Gateway) -> None:
    scope = {"type": "http", "method": "POST", "path": PATH, "root_path": "", "headers": []}
    matching = [route for route in gateway.app.router.routes if route.matches(scope)[0] is Match.FULL]
    assert len(matching) == 1
