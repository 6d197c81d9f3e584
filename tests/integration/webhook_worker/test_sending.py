"""Sending: a 2xx succeeds; anything else climbs the ladder (scaled down here) to ``failed``; no redirect is
followed; an answer is read to 64 KiB at most; an attempt ends at the timeout; every attempt is signed, with both
secrets during a rotation overlap; a manual retry sends the same delivery again."""

from __future__ import annotations

import asyncpg
import orjson
import pytest

from common.webhook_signature import new_secret
from notify_client import WebhookVerificationError, verify
from tests.integration.webhook_worker.support import add_endpoint, add_event, final
from tests.support.webhook_receiver import WebhookReceiver

MANUAL_RETRY = (
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now() WHERE id = $1"
)


async def test_a_2xx_succeeds_with_a_verifiable_signature(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/ok/a"))
    event = await add_event(pool, "notification.delivered", '{"id": "n1"}')

    async with worker():
        [delivery] = await final(pool, endpoint["id"])

    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("succeeded", 1, 200)
    assert delivery["next_attempt_at"] is None
    assert delivery["last_error"] is None
    [request] = receiver.at("/ok/a")
    assert request.headers["webhook-id"] == str(delivery["id"])
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("notification-system-webhooks/")
    assert request.body == delivery["body"]
    assert orjson.loads(request.body)["type"] == event["event_type"]
    verify(endpoint["secret"], request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), request.headers, request.body)


async def test_both_secrets_sign_during_a_rotation_overlap(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    previous = new_secret()
    rotating = await add_endpoint(
        pool, receiver.url("/ok/rotating"), previous_secret=previous, previous_for_seconds=3600
    )
    rotated = await add_endpoint(
        pool, receiver.url("/ok/rotated"), previous_secret=new_secret(), previous_for_seconds=-1
    )
    await add_event(pool)

    async with worker():
        await final(pool, rotating["id"])
        await final(pool, rotated["id"])

    [overlapping] = receiver.at("/ok/rotating")
    assert len(overlapping.headers["webhook-signature"].split()) == 2
    verify(rotating["secret"], overlapping.headers, overlapping.body)
    verify(previous, overlapping.headers, overlapping.body)
    [after] = receiver.at("/ok/rotated")
    assert len(after.headers["webhook-signature"].split()) == 1
    verify(rotated["secret"], after.headers, after.body)
    with pytest.raises(WebhookVerificationError):
        verify(rotated["previous_secret"], after.headers, after.body)


async def test_failures_climb_the_ladder_to_failed_then_a_manual_retry_delivers(
    pool: asyncpg.Pool, receiver: WebhookReceiver, worker
) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/status/503/down"))
    await add_event(pool)

    async with worker(retry_schedule="0.2,0.3"):
        [delivery] = await final(pool, endpoint["id"])
        assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("failed", 3, 503)
        assert delivery["next_attempt_at"] is None
        assert delivery["last_error"] == "HTTP 503: refused by the test endpoint"
        attempts = receiver.at("/status/503/down")
        assert len(attempts) == 3
        assert {request.headers["webhook-id"] for request in attempts} == {str(delivery["id"])}
        assert attempts[1].at - attempts[0].at >= 0.2
        assert attempts[2].at - attempts[1].at >= 0.3

        await pool.execute(
            "UPDATE webhook_endpoints SET url = $2 WHERE id = $1", endpoint["id"], receiver.url("/ok/up")
        )
        await pool.execute(MANUAL_RETRY, delivery["id"])
        [retried] = await final(pool, endpoint["id"])

    assert (retried["status"], retried["attempts"], retried["response_status"]) == ("succeeded", 4, 200)
    [request] = receiver.at("/ok/up")
    assert request.headers["webhook-id"] == str(delivery["id"])


async def test_a_redirect_is_not_followed(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/redirect/elsewhere"))
    await add_event(pool)

    async with worker(retry_schedule=""):
        [delivery] = await final(pool, endpoint["id"])

    assert (delivery["status"], delivery["response_status"]) == ("failed", 302)
    assert "redirects are not followed" in delivery["last_error"]
    assert receiver.at("/ok/elsewhere") == []


async def test_an_endless_answer_is_read_to_64_kib_only(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/endless/a"))
    await add_event(pool)

    async with worker(timeout_seconds=3.0, lease_seconds=10.0):
        [delivery] = await final(pool, endpoint["id"])

    assert (delivery["status"], delivery["response_status"]) == ("succeeded", 200)
    assert delivery["response_ms"] < 3000


async def test_an_attempt_ends_at_the_timeout(pool: asyncpg.Pool, receiver: WebhookReceiver, worker) -> None:
    endpoint = await add_endpoint(pool, receiver.url("/slow/5/a"))
    await add_event(pool)

    async with worker(timeout_seconds=1.0, retry_schedule=""):
        [delivery] = await final(pool, endpoint["id"])

    assert (delivery["status"], delivery["response_status"]) == ("failed", None)
    assert delivery["last_error"] == "no answer within 1 s"
    assert 900 <= delivery["response_ms"] < 2000
