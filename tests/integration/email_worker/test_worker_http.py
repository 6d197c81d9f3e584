"""``python -m email_worker`` as a process: its HTTP side on the worker port (index, health, readiness, metrics,
``POST /test-email``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.email_worker.process import TEST_KEY, WorkerProcess, worker_process
from tests.support.smtp_sink import RunningSmtpSink, running_smtp_sink


@pytest.fixture(scope="module")
async def http_sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSmtpSink]:
    async with running_smtp_sink(tmp_path_factory.mktemp("mail")) as sink:
        yield sink


@pytest.fixture(scope="module")
async def worker(http_sink: RunningSmtpSink, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkerProcess]:
    async with worker_process(http_sink, tmp_path_factory.mktemp("log") / "worker.log") as running:
        yield running


async def test_the_http_side_answers_index_health_readiness_and_metrics(worker: WorkerProcess) -> None:
    index = (await worker.http.get("/")).json()
    assert index["service"] == "email_worker"
    assert (await worker.http.get("/health")).json() == {"status": "ok"}
    ready = await worker.http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"broker": True, "database": True}
    metrics = (await worker.http.get("/metrics")).text
    assert 'notification_circuit_breaker_state{channel="email"} 0.0' in metrics
    assert 'notifications_in_flight{channel="email"}' in metrics


async def test_test_email_needs_the_test_key(worker: WorkerProcess, http_sink: RunningSmtpSink) -> None:
    body = {"to": "ops@example.com"}
    for headers in ({}, {"X-Test-Key": "wrong"}):
        response = await worker.http.post("/test-email", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401
    # the key is checked before the body
    assert (await worker.http.post("/test-email", json={"to": 1})).status_code == 401
    assert await http_sink.messages("ops@example.com") == []


async def test_test_email_sends_through_smtp_and_answers_with_the_reply(
    worker: WorkerProcess, http_sink: RunningSmtpSink
) -> None:
    response = await worker.http.post(
        "/test-email",
        json={"to": "ops@example.com", "subject": "SMTP check", "html": "<p>ok</p>"},
        headers={"X-Test-Key": TEST_KEY},
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["accepted"] is True
    assert reply["smtp_code"] == 250
    assert "queued as" in reply["smtp_reply"]
    [mail] = await http_sink.messages("ops@example.com")
    assert mail["subject"] == "SMTP check"
    assert mail["message_id"] == reply["message_id"]
    assert mail["html"].strip() == "<p>ok</p>"


async def test_test_email_reports_a_refusal_and_a_bad_body(worker: WorkerProcess) -> None:
    headers = {"X-Test-Key": TEST_KEY}
    refused = await worker.http.post("/test-email", json={"to": "bounce-553@example.com"}, headers=headers)
    assert refused.status_code == 502
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["smtp_code"] == 553

    for body in ({"to": "not an address"}, {"subject": "no recipient"}, {"to": "a@b.c", "subject": "two\r\nlines"}):
        invalid = await worker.http.post("/test-email", json=body, headers=headers)
        assert invalid.status_code == 422, body
        assert invalid.headers["content-type"] == "application/problem+json"
        assert invalid.json()["errors"][0]["field"] in ("to", "subject")
