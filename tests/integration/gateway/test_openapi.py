"""The exported OpenAPI document (docs/openapi/gateway.json) is the one the gateway serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common.email_address import MAX_EMAIL_LENGTH
from gateway.openapi import document
from tests.integration.gateway.harness import Gateway
from user_svc import validation

EXPORTED = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "gateway.json"


async def test_the_exported_document_equals_the_served_one(gateway: Gateway) -> None:
    served = await gateway.client.get("/openapi.json", headers={"X-API-Key": ""})
    assert served.status_code == 200
    assert json.loads(EXPORTED.read_text()) == served.json(), (
        "run: python -m gateway.openapi > docs/openapi/gateway.json"
    )
    assert EXPORTED.read_text() == document()


async def test_every_error_response_is_documented_as_problem_json(gateway: Gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)


async def test_user_fields_are_documented_as_user_svc_checks_them(gateway: Gateway) -> None:
    schemas = json.loads(EXPORTED.read_text())["components"]["schemas"]
    for model in ("UserCreate", "UserUpdate"):
        fields = schemas[model]["properties"]
        assert fields["email"]["format"] == "email", model
        assert fields["password"]["minLength"] == validation.MIN_PASSWORD_LENGTH, model
        assert _string_branch(fields["email"])["maxLength"] == MAX_EMAIL_LENGTH, model
    too_long = "a" * (MAX_EMAIL_LENGTH - len("@example.com") + 1) + "@example.com"
    refused = await gateway.client.post("/v1/users", json={"name": "X", "email": too_long, "password": "x" * 8})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["email"]


def _string_branch(field: dict[str, Any]) -> dict[str, Any]:
    """The string schema of a field that may also be null (``anyOf``)."""
    return next((branch for branch in field.get("anyOf", []) if branch.get("type") == "string"), field)
