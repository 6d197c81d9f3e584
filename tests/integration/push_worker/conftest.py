"""Fixtures for the push worker's tests: the local FCM server (one per session, reset for each test) and
firebase-admin's in-request retries without their backoff sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from firebase_admin import _http_client

from tests.support.fcm_server import RunningFcmServer, running_fcm_server


@pytest.fixture(scope="session")
def fcm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFcmServer]:
    """The FCM server, started once."""
    with running_fcm_server(tmp_path_factory.mktemp("fcm")) as server:
        yield server


@pytest.fixture
def fcm(fcm_server: RunningFcmServer) -> RunningFcmServer:
    """The FCM server with no recorded message and no failing token registered."""
    fcm_server.reset()
    return fcm_server


@pytest.fixture
def fast_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """firebase-admin retries 500 and 503 answers 4 times, sleeping 0, 1, 2 and 4 s; the same retries without
    the sleeps keep a test that needs an UNAVAILABLE or INTERNAL to reach the worker fast."""
    monkeypatch.setattr(_http_client.DEFAULT_HTTPX_RETRY_CONFIG, "backoff_factor", 0)
