"""What every request meets at the edge: credentials, the correlation id, body limits and problem bodies,
and the operations routes."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from devstack.infra import Infra
from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway
from tests.support.user_service import RunningUserService

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_health_needs_no_credentials_and_echoes_the_request_id(gateway: Gateway) -> None:
    response = await gateway.client.get("/health", headers={"X-API-Key": "", "X-Request-ID": "req-edge-1"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"] == "req-edge-1"


async def test_a_request_without_an_id_gets_a_new_one(gateway: Gateway) -> None:
    first = await gateway.client.get("/health")
    second = await gateway.client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(first.headers["x-request-id"]) >= 16


async def test_missing_or_wrong_api_key_is_401(gateway: Gateway) -> None:
    missing = await gateway.client.get(f"/v1/notifications/{uuid.uuid4()}", headers={"X-API-Key": ""})
    assert_problem(missing, 401)
    wrong = await gateway.client.get(f"/v1/notifications/{uuid.uuid4()}", headers={"X-API-Key": "nope"})
    assert_problem(wrong, 401)
    bad_token = await gateway.client.get(
        f"/v1/users/{uuid.uuid4()}", headers={"X-API-Key": "", "Authorization": "Bearer not.a.jwt"}
    )
    assert_problem(bad_token, 401)


async def test_bad_json_is_400(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/notifications/send", content=b'{"user_id": ', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


async def test_invalid_utf8_is_400(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/notifications/send", content=b'{"template": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


async def test_a_body_over_64_kib_is_413_by_length_and_by_stream(gateway: Gateway) -> None:
    big = json.dumps({"variables": {"x": "a" * 70_000}}).encode()
    response = await gateway.client.post(
        "/v1/notifications/send", content=big, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)

    async def chunks():  # no Content-Length: the size is only known while streaming
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await gateway.client.post(
        "/v1/notifications/send", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(streamed, 413)


async def test_a_non_json_body_is_415(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/notifications/send", content=b"user_id=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 415)


async def test_wrong_fields_are_422_naming_each(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/notifications/send",
        json={
            "user_id": "not-a-uuid",
            "channel": "sms",
            "template": "welcome",
            "priority": "urgent",
            "metadata": {str(i): "v" for i in range(17)},
            "expires_at": "tomorrow",
        },
    )
    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"user_id", "channel", "priority", "metadata", "expires_at"} <= fields


async def test_a_malformed_path_id_is_422(gateway: Gateway) -> None:
    body = assert_problem(await gateway.client.get("/v1/notifications/not-a-uuid"), 422)
    assert body["errors"][0]["field"] == "notification_id"


async def test_metrics_count_requests_by_route_template(gateway: Gateway) -> None:
    await gateway.client.get(f"/v1/notifications/{uuid.uuid4()}")
    response = await gateway.client.get("/metrics", headers={"X-API-Key": ""})
    assert response.status_code == 200
    assert 'route="/v1/notifications/{notification_id}"' in response.text
    assert "gateway_http_request_duration_seconds_bucket" in response.text


async def test_ready_when_every_dependency_answers(gateway: Gateway) -> None:
    response = await gateway.client.get("/ready", headers={"X-API-Key": ""})
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"].values()) == {"ok"}


async def test_ready_names_what_is_down(infra: Infra, user_service: RunningUserService) -> None:
    settings = gateway_settings(infra, users=user_service)
    async with running_gateway(settings) as gateway:
        response = await gateway.client.get("/ready", headers={"X-API-Key": ""})
    body = assert_problem(response, 503)
    assert body["checks"]["template_svc"] == "down"
    assert body["checks"]["redis"] == body["checks"]["postgres"] == body["checks"]["rabbitmq"] == "ok"
    assert body["checks"]["user_svc"] == "ok"
    assert "template_svc" in body["detail"]


async def test_a_backend_refusing_our_internal_key_is_503_and_a_loud_log(
    infra: Infra, user_service: RunningUserService, caplog: pytest.LogCaptureFixture
) -> None:
    settings = gateway_settings(infra, users=user_service, user_service_internal_api_key="not-the-key")
    async with running_gateway(settings) as gateway:
        fetched = await gateway.client.get(f"/v1/users/{uuid.uuid4()}")
        login = await gateway.client.post(
            "/v1/auth/login", json={"email": "a@example.com", "password": "whatever1"}, headers={"X-API-Key": ""}
        )
    assert_problem(fetched, 503)
    assert_problem(login, 503)  # our misconfiguration, not the caller's wrong password
    assert any(r.levelname == "ERROR" and "UNAUTHENTICATED" in r.getMessage() for r in caplog.records)


async def test_nul_characters_in_metadata_are_422_not_a_database_error(gateway: Gateway) -> None:
    body = {"user_id": str(uuid.uuid4()), "channel": "email", "template": "welcome", "metadata": {"a": "b\u0000"}}
    response = await gateway.client.post("/v1/notifications/send", json=body)
    assert assert_problem(response, 422)["errors"][0]["field"] == "metadata"


async def test_each_problem_type_is_named_and_describes_itself(gateway: Gateway) -> None:
    unauthenticated = assert_problem(await gateway.client.get("/v1/users", headers={"X-API-Key": "wrong"}), 401)
    assert unauthenticated["type"] == "/problems/unauthenticated"
    described = await gateway.client.get(unauthenticated["type"], headers={"X-API-Key": ""})
    assert described.status_code == 200
    assert described.json()["status"] == 401
    assert described.json()["type"] == unauthenticated["type"]
    unknown = assert_problem(await gateway.client.get("/problems/no-such-problem"), 404)
    assert unknown["type"] == "/problems/not-found"
