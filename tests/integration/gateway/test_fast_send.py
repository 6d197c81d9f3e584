"""The send route's fast path: the common request (API key, valid body, valid or no Idempotency-Key) is served
without FastAPI's machinery, everything else by the documented route, with the same answers as before."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from gateway.routes.fast_send import FastSendRoute
from tests.integration.gateway.harness import Gateway, create_user
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body

pytestmark = pytest.mark.usefixtures("templates")


def fast_route(app: FastAPI) -> FastSendRoute:
    return next(route for route in app.router.routes if isinstance(route, FastSendRoute))


async def counts(gateway: Gateway, request: Any) -> tuple[Any, int, int]:
    route = fast_route(gateway.app)
    served, handed_over = route.served, route.handed_over
    response = await request
    return response, route.served - served, route.handed_over - handed_over


async def test_a_plain_send_is_served_by_the_fast_route(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    plain = gateway.client.post("/v1/notifications/send", json=send_body(user))
    response, served, handed = await counts(gateway, plain)
    assert response.status_code == 202, response.text
    assert (served, handed) == (1, 0)
    assert response.json()["status"] == "queued"
    assert response.headers["content-type"] == "application/json"
    assert "x-ratelimit-limit" in response.headers

    key = f"k-fast-{uuid.uuid4().hex}"
    keyed = gateway.client.post("/v1/notifications/send", json=send_body(user), headers={"Idempotency-Key": key})
    first, served, _ = await counts(gateway, keyed)
    repeat = await gateway.client.post("/v1/notifications/send", json=send_body(user), headers={"Idempotency-Key": key})
    assert served == 1
    assert repeat.headers["idempotent-replayed"] == "true"
    assert repeat.content == first.content


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"X-API-Key": ""}, None, 401),
        ({"Idempotency-Key": ""}, None, 422),
        ({"Idempotency-Key": "x" * 256}, None, 422),
        ({}, {"channel": "email"}, 422),
        ({}, {"user_id": "not-a-uuid", "channel": "email", "template": "welcome"}, 422),
    ],
)
async def test_anything_unusual_is_answered_by_the_documented_route(
    gateway: Gateway, headers: dict[str, str], body: dict[str, Any] | None, status: int
) -> None:
    user = await create_user(gateway.client)
    request = gateway.client.post("/v1/notifications/send", json=body or send_body(user), headers=headers)
    response, served, handed = await counts(gateway, request)
    assert_problem(response, status)
    assert (served, handed) == (0, 1)


async def test_errors_after_parsing_are_the_same_problems(gateway: Gateway) -> None:
    user = await create_user(gateway.client)
    missing, _, handed = await counts(
        gateway, gateway.client.post("/v1/notifications/send", json=send_body(user, template="nope"))
    )
    assert handed == 0  # raised in the fast route, answered by the same error handler
    assert_problem(missing, 404)
    wrong_key = await gateway.client.post(
        "/v1/notifications/send", json=send_body(user), headers={"X-API-Key": "not-a-key"}
    )
    assert_problem(wrong_key, 401)
    assert wrong_key.headers["www-authenticate"]
