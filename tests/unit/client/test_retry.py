"""When the client tries again: 429, 503 and an in-flight 409 wait their ``Retry-After`` (jittered backoff
without one), nothing else is retried, attempts are bounded, a connection error repeats only an idempotent
call, and a send's Idempotency-Key is made once per logical send."""

from __future__ import annotations

import socket

import httpx
import pytest

from notify_client import Client, ConnectionFailed, RetryPolicy
from notify_client._call import Call, no_content

POLICY = RetryPolicy(max_attempts=3, backoff=0.5, max_backoff=4.0, max_retry_after=10.0)


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_503_waits_its_retry_after(status: int) -> None:
    assert POLICY.after_response(1, answer(status, **{"Retry-After": "2"})) == 2.0


def test_an_in_flight_409_waits_its_retry_after_and_another_409_is_final() -> None:
    assert POLICY.after_response(1, answer(409, **{"Retry-After": "1"})) == 1.0
    assert POLICY.after_response(1, answer(409)) is None


@pytest.mark.parametrize("status", [200, 202, 400, 401, 404, 422, 500, 502])
def test_other_answers_are_final(status: int) -> None:
    assert POLICY.after_response(1, answer(status)) is None


def test_without_retry_after_the_backoff_is_jittered_and_capped() -> None:
    waits = {POLICY.after_response(2, answer(503)) for _ in range(50)}
    assert all(wait is not None and 0 <= wait <= 1.0 for wait in waits)
    assert len(waits) > 1
    assert all(0 <= POLICY.jittered(10) <= 4.0 for _ in range(50))


def test_attempts_are_bounded_and_a_long_retry_after_is_left_to_the_caller() -> None:
    assert POLICY.after_response(3, answer(429, **{"Retry-After": "1"})) is None
    assert POLICY.after_response(1, answer(429, **{"Retry-After": "11"})) is None


def test_a_connection_error_repeats_only_an_idempotent_call() -> None:
    assert POLICY.after_error(1, idempotent=True) is not None
    assert POLICY.after_error(1, idempotent=False) is None
    assert POLICY.after_error(3, idempotent=True) is None


def test_a_call_is_idempotent_by_its_method_or_its_key() -> None:
    assert Call("GET", "/x", no_content).idempotent
    assert Call("DELETE", "/x", no_content).idempotent
    assert not Call("POST", "/x", no_content).idempotent
    assert Call("POST", "/x", no_content, headers={"Idempotency-Key": "k"}).idempotent


def test_an_unreachable_gateway_is_a_connection_failure_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the client connects: nothing listens
    with Client(f"http://127.0.0.1:{port}", api_key="k", retry=RetryPolicy(max_attempts=2, backoff=0.01)) as client:
        with pytest.raises(ConnectionFailed, match="GET /health"):
            client.operations.health()
        with pytest.raises(ConnectionFailed, match="POST /v1/notifications/send"):
            client.notifications.send("u", "email", "t")


def test_each_send_gets_its_own_key_and_keeps_a_given_one() -> None:
    with Client("http://127.0.0.1:9", api_key="k") as client:
        notifications = type(client.notifications)
        first = notifications.send.build(client.notifications, "u", "email", "t")
        second = notifications.send.build(client.notifications, "u", "email", "t")
        given = notifications.send.build(client.notifications, "u", "email", "t", idempotency_key="mine")
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert given.headers["Idempotency-Key"] == "mine"
