"""Sends beyond ``GATEWAY_MAX_SENDS_IN_FLIGHT`` in one gateway process: refused at once with a clean 503 that
accepted nothing, so the client's retry with the same key is a first send, not a replay."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.integration.gateway.harness import Gateway, create_user, running_gateway
from tests.integration.gateway.test_batch import batch_body
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_send import send_body

pytestmark = pytest.mark.usefixtures("templates")

SHED = "gateway_requests_shed_total"


def shed_so_far() -> float:
    return REGISTRY.get_sample_value(SHED, {"kind": "sends"}) or 0.0


async def post(gateway: Gateway, path: str, body: dict, key: str) -> httpx.Response:
    return await gateway.client.post(path, json=body, headers={"Idempotency-Key": key})


async def test_sends_past_the_cap_are_503_busy_and_their_retry_is_a_first_send(gateway: Gateway) -> None:
    users = [await create_user(gateway.client) for _ in range(3)]
    requests = [("/v1/notifications/send", send_body(users[n % 3]), f"shed-{uuid.uuid4()}") for n in range(10)]
    batch = batch_body(*({"user_id": user["id"]} for user in users))
    requests.append(("/v1/notifications/batch", batch, f"shed-batch-{uuid.uuid4()}"))
    before = shed_so_far()
    async with running_gateway(gateway.settings.model_copy(update={"max_sends_in_flight": 2})) as capped:
        answers = await asyncio.gather(*(post(capped, *request) for request in requests))
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) == {202, 503}, statuses
        for answer in answers:
            if answer.status_code == 503:
                problem = assert_problem(answer, 503)
                assert problem["type"] == "/problems/busy"
                assert answer.headers["retry-after"] == "1"
        assert shed_so_far() - before == statuses.count(503)

        for request, answer in zip(requests, answers, strict=True):
            if answer.status_code == 503:
                retried = await post(capped, *request)
                assert retried.status_code == 202, retried.text
                assert "idempotent-replayed" not in retried.headers  # the 503 had stored nothing
