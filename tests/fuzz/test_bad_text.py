"""What is wrong inside the text of a JSON body: numbers JSON does not have (``NaN``, ``Infinity``, which
Python's parser lets through), lone surrogates (``"\\ud800"`` is valid JSON, but no UTF-8 can carry it), bytes
that are not UTF-8. Each is a clean 400 or a 422 naming the field, never a 500 or a 503."""

from __future__ import annotations

import httpx
import pytest

from tests.fuzz.problems import assert_problem

JSON = {"Content-Type": "application/json"}
ID = "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10"
BODY_ROUTES = [
    ("POST", "/v1/notifications/send"),
    ("POST", "/v1/users"),
    ("PATCH", f"/v1/users/{ID}"),
    ("POST", f"/v1/users/{ID}/devices"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/templates"),
    ("POST", "/v1/templates/welcome/render"),
]
NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e999"]
LONE_SURROGATE = '"\\ud800"'


def send_body(recipient: str, variables: str, metadata: str = "{}") -> bytes:
    return (
        f'{{"user_id": "{recipient}", "channel": "email", "template": "welcome", '
        f'"variables": {variables}, "metadata": {metadata}}}'
    ).encode()


def render_body(variables: str) -> bytes:
    return f'{{"channel": "email", "variables": {variables}}}'.encode()


async def variables_refused(http: httpx.AsyncClient, recipient: str, variables: str, field: str) -> None:
    """Both routes that render answer 422 naming ``field`` (or the variable inside it)."""
    for path, content in (
        ("/v1/templates/welcome/render", render_body(variables)),
        ("/v1/notifications/send", send_body(recipient, variables)),
    ):
        problem = assert_problem(await http.post(path, content=content, headers=JSON), 422)
        assert problem["errors"][0]["field"].startswith(field), problem


@pytest.mark.parametrize("number", NOT_FINITE)
async def test_a_variable_that_is_not_a_finite_number_is_422(
    http: httpx.AsyncClient, recipient: str, number: str
) -> None:
    await variables_refused(http, recipient, f'{{"name": "Ada", "link": {number}}}', "variables")
    await variables_refused(
        http, recipient, f'{{"name": "Ada", "link": "x", "o": {{"n": [1, {number}]}}}}', "variables"
    )


async def test_a_variable_holding_a_lone_surrogate_is_422(http: httpx.AsyncClient, recipient: str) -> None:
    await variables_refused(http, recipient, f'{{"name": {LONE_SURROGATE}, "link": "x"}}', "variables")
    await variables_refused(http, recipient, f'{{"name": "Ada", "link": "x", {LONE_SURROGATE}: 1}}', "variables")


async def test_unicode_that_is_valid_still_renders(http: httpx.AsyncClient, recipient: str) -> None:
    variables = '{"name": "\\ud83d\\ude00 Zoë 中文", "link": "x"}'  # a surrogate pair is one character
    response = await http.post("/v1/templates/welcome/render", content=render_body(variables), headers=JSON)
    assert response.status_code == 200, response.text
    assert "\U0001f600 Zoë 中文" in response.json()["email"]["text_body"]
    sent = await http.post("/v1/notifications/send", content=send_body(recipient, variables), headers=JSON)
    assert sent.status_code == 202, sent.text


@pytest.mark.parametrize("metadata", [f'{{"k": {LONE_SURROGATE}}}', f'{{{LONE_SURROGATE}: "v"}}', '{"k": "a\\u0000"}'])
async def test_metadata_that_jsonb_cannot_hold_is_422(http: httpx.AsyncClient, recipient: str, metadata: str) -> None:
    content = send_body(recipient, '{"name": "Ada", "link": "x"}', metadata)
    problem = assert_problem(await http.post("/v1/notifications/send", content=content, headers=JSON), 422)
    assert problem["errors"][0]["field"] == "metadata", problem


INVALID_UTF8 = {
    "byte 0xff": b"\xff",
    "overlong slash": b"\xc0\xaf",
    "encoded surrogate": b"\xed\xa0\x80",
    "truncated sequence": b"\xe2\x82",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
    "latin-1 text": "café".encode("latin-1"),
}


@pytest.mark.parametrize("sequence", sorted(INVALID_UTF8))
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
async def test_invalid_utf8_is_refused(http: httpx.AsyncClient, method: str, path: str, sequence: str) -> None:
    """400; except that Python's JSON parser decodes the bytes of a surrogate (``surrogatepass``), so where one
    lands in a field that is not a string (an unknown field, a map) it is that field's 422."""
    content = b'{"name": "a' + INVALID_UTF8[sequence] + b'b", "email": "x@example.com"}'
    response = await http.request(method, path, content=content, headers=JSON)
    statuses = (400, 422) if sequence == "encoded surrogate" else (400,)
    assert_problem(response, *statuses)


async def test_the_bytes_of_a_surrogate_in_a_string_field_are_400(http: httpx.AsyncClient) -> None:
    content = b'{"name": "a\xed\xa0\x80b", "email": "x@example.com", "password": "long enough"}'
    problem = assert_problem(await http.post("/v1/users", content=content, headers=JSON), 400)
    assert problem["detail"] == "the request body is not valid UTF-8"


@pytest.mark.parametrize(
    "data",
    [f'{{"k": {LONE_SURROGATE}}}', f'{{{LONE_SURROGATE}: "v"}}', '{"k": "a\\u0000"}'],
    ids=["value", "key", "NUL"],
)
async def test_push_data_that_cannot_travel_is_422(http: httpx.AsyncClient, data: str) -> None:
    content = f'{{"slug": "bad-data", "channel": "push", "title": "t", "body": "b", "data": {data}}}'.encode()
    for method, path in (("POST", "/v1/templates"), ("PUT", "/v1/templates/bad-data")):
        problem = assert_problem(await http.request(method, path, content=content, headers=JSON), 422)
        assert problem["errors"][0]["field"] == "data", problem
