"""Bodies no client should send, over real HTTP to a served gateway: too large (413, by Content-Length and
while streaming), nested deeper than any parser should follow (never a 500 or a crash), not
JSON (400), or not declared as JSON (415). Each on every route that takes a body. (What is wrong inside the
text of a JSON body is ``test_bad_text``.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fuzz.problems import assert_problem

ID = str(uuid.uuid4())
BODY_ROUTES = [
    ("POST", "/v1/notifications/send"),
    ("POST", "/v1/users"),
    ("PATCH", f"/v1/users/{ID}"),
    ("PUT", f"/v1/users/{ID}/preferences"),
    ("POST", f"/v1/users/{ID}/devices"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/templates"),
    ("PUT", "/v1/templates/welcome"),
    ("POST", "/v1/templates/welcome/render"),
]
ROUTE_IDS = [f"{method} {path.replace(ID, '{id}')}" for method, path in BODY_ROUTES]
JSON = {"Content-Type": "application/json"}
LIMIT = 64 * 1024


def big_body() -> bytes:
    return b'{"name": "' + b"a" * LIMIT + b'"}'


async def in_chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=ROUTE_IDS)
async def test_a_body_over_64_kib_is_413(http: httpx.AsyncClient, method: str, path: str) -> None:
    assert_problem(await http.request(method, path, content=big_body(), headers=JSON), 413)
    streamed = await http.request(method, path, content=in_chunks(big_body()), headers=JSON)  # no Content-Length
    assert_problem(streamed, 413)


async def test_a_body_of_exactly_64_kib_is_read(http: httpx.AsyncClient) -> None:
    padding = LIMIT - len(b'{"channel": "email", "variables": {"x": ""}}')
    exact = b'{"channel": "email", "variables": {"x": "' + b"a" * padding + b'"}}'
    assert len(exact) == LIMIT
    response = await http.post("/v1/templates/welcome/render", content=exact, headers=JSON)
    assert response.status_code != 413, response.text


def nested(depth: int, opening: str = "[", closing: str = "]", leaf: str = "") -> str:
    return opening * depth + leaf + closing * depth


DEPTHS = [10, 30, 33, 50, 100, 200, 1000, 10_000, 30_000]


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=ROUTE_IDS)
async def test_deep_json_is_refused_cleanly(http: httpx.AsyncClient, method: str, path: str, depth: int) -> None:
    response = await http.request(method, path, content=nested(depth).encode(), headers=JSON)
    assert_problem(response, 400, 413, 422)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("shape", ["objects", "arrays"])
async def test_deep_variables_are_refused_cleanly(
    http: httpx.AsyncClient, recipient: str, depth: int, shape: str
) -> None:
    value = nested(depth, '{"a": ', "}", "1") if shape == "objects" else nested(depth, leaf="1")
    for path, body in (
        ("/v1/templates/welcome/render", f'{{"channel": "email", "variables": {{"name": {value}, "link": "x"}}}}'),
        (
            "/v1/notifications/send",
            f'{{"user_id": "{recipient}", "channel": "email", "template": "welcome", '
            f'"variables": {{"name": "Ada", "link": "x", "deep": {value}}}}}',
        ),
    ):
        response = await http.post(path, content=body.encode(), headers=JSON)
        if depth <= 10:
            assert response.is_success, response.text
        elif not response.is_success:
            problem = assert_problem(response, 400, 413, 422)
            assert response.status_code != 422 or problem["errors"][0]["field"].startswith("variables."), problem


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b'{"a": 1,}', b"{'a': 1}", b"[1, 2", b"\x00", b'{"a": 1} trailing', b"\xef\xbb\xbf{}"],
    ids=["empty", "open brace", "trailing comma", "single quotes", "open array", "NUL", "trailing text", "BOM"],
)
async def test_what_is_not_json_is_400_or_422(http: httpx.AsyncClient, content: bytes) -> None:
    response = await http.post("/v1/users", content=content, headers=JSON)
    assert_problem(response, 400, 422)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "text/json",
        "application/octet-stream",
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=ROUTE_IDS)
async def test_a_body_not_declared_as_json_is_415(
    http: httpx.AsyncClient, method: str, path: str, content_type: str
) -> None:
    response = await http.request(method, path, content=b'{"name": "Ada"}', headers={"Content-Type": content_type})
    assert_problem(response, 415)


async def test_a_body_without_a_content_type_is_415(http: httpx.AsyncClient) -> None:
    request = http.build_request("POST", "/v1/users", content=b'{"name": "Ada"}')
    assert "Content-Type" not in request.headers
    assert_problem(await http.send(request), 415)
