"""The dev webhook receiver, run as ``make up`` runs it: it verifies signatures with the secrets it is told,
fails or stalls the deliveries it is told to, and keeps what it received across a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from common.webhook_signature import new_secret, signed_headers
from devstack.stack import ROOT, free_port


def start_receiver(directory: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "WEBHOOK_RECEIVER_PORT": str(port), "WEBHOOK_RECEIVER_DIR": str(directory)}
    process = subprocess.Popen([sys.executable, "-m", "devstack.sinks.webhook"], cwd=ROOT, env=environment)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the webhook receiver did not start")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = start_receiver(tmp_path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def deliver(base: str, path: str, secrets: list[str], event_type: str = "notification.delivered") -> httpx.Response:
    """POST a delivery as webhook_worker would, signed with ``secrets``."""
    body = json.dumps({"type": event_type, "timestamp": datetime.now(UTC).isoformat(), "data": {}}).encode()
    headers = signed_headers(secrets, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    return httpx.post(base + path, content=body, headers={**headers, "Content-Type": "application/json"})


def test_a_delivery_signed_with_the_registered_secret_is_recorded_as_verified(receiver: str) -> None:
    secret, other = new_secret(), new_secret()
    httpx.post(f"{receiver}/secrets", json={"path_prefix": "/hooks/a", "secret": secret}).raise_for_status()

    assert deliver(receiver, "/hooks/a/x", [secret]).status_code == 204
    assert deliver(receiver, "/hooks/a/x", [other]).status_code == 204
    assert deliver(receiver, "/hooks", [other]).status_code == 204

    good, forged = httpx.get(f"{receiver}/deliveries", params={"path_prefix": "/hooks/a"}).json()
    assert (good["verified"], good["matching_secrets"], good["error"]) == (True, 1, None)
    assert good["type"] == "notification.delivered"
    assert good["headers"]["webhook-id"] == good["webhook_id"]
    assert (forged["verified"], forged["error"]) == (False, "no signature matches the secret")
    [unchecked] = [item for item in httpx.get(f"{receiver}/deliveries").json() if item["path"] == "/hooks"]
    assert unchecked["verified"] is None
    stats = httpx.get(f"{receiver}/deliveries/stats").json()
    assert (stats["received"], stats["verified"], stats["verification_failed"], stats["unchecked"]) == (3, 1, 1, 1)
    assert 0 <= stats["lag_seconds"]["max"] < 5


def test_both_secrets_of_a_rotation_are_counted(receiver: str) -> None:
    old, new = new_secret(), new_secret()
    for secret in (old, new):
        httpx.post(f"{receiver}/secrets", json={"path_prefix": "/hooks/r", "secret": secret}).raise_for_status()

    deliver(receiver, "/hooks/r", [new, old])

    [delivery] = httpx.get(f"{receiver}/deliveries").json()
    assert delivery["matching_secrets"] == 2


def test_a_behaviour_fails_matching_deliveries_the_given_number_of_times(receiver: str) -> None:
    rule = {"path_prefix": "/hooks/flaky", "status": 503, "times": 2}
    httpx.post(f"{receiver}/behaviours", json=rule).raise_for_status()

    answers = [deliver(receiver, "/hooks/flaky", []).status_code for _ in range(3)]

    assert answers == [503, 503, 204]
    assert deliver(receiver, "/hooks/other", []).status_code == 204
    assert httpx.get(f"{receiver}/behaviours").json() == []
    stats = httpx.get(f"{receiver}/deliveries/stats", params={"path_prefix": "/hooks/flaky"}).json()
    assert (stats["received"], stats["succeeded"]) == (3, 1)


def test_a_slow_behaviour_delays_the_answer(receiver: str) -> None:
    httpx.post(f"{receiver}/behaviours", json={"path_prefix": "/hooks/slow", "delay_seconds": 0.5}).raise_for_status()

    started = time.monotonic()
    assert deliver(receiver, "/hooks/slow", []).status_code == 204
    assert time.monotonic() - started >= 0.5


def test_deliveries_survive_a_restart_and_can_be_cleared(tmp_path: Path) -> None:
    port = free_port()
    process = start_receiver(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deliver(base, "/hooks/kept", [])
    finally:
        process.kill()
        process.wait(10)
    process = start_receiver(tmp_path, port)
    try:
        assert len(httpx.get(f"{base}/deliveries").json()) == 1
        httpx.delete(f"{base}/deliveries").raise_for_status()
        assert httpx.get(f"{base}/deliveries/stats").json()["received"] == 0
    finally:
        process.terminate()
        process.wait(10)
