"""What every refusal of the gateway looks like: a problem+json body with the status, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The problem body of ``response``, which must have one of ``statuses``."""
    assert response.status_code in statuses, f"{response.status_code} not in {statuses}: {response.text[:500]}"
    assert response.headers["content-type"] == PROBLEM, response.headers
    problem: dict[str, Any] = response.json()
    assert problem["status"] == response.status_code
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem
