"""The exported OpenAPI document (docs/openapi/gateway.json) is the one the gateway serves."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.openapi import document
from tests.integration.gateway.harness import Gateway

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
