"""The local FCM server in-process for tests: a free port, its own service-account file, control helpers.

    with running_fcm_server(tmp_path) as fcm:
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(fcm.credentials_path)
        os.environ["FCM_ENDPOINT"] = fcm.url
        fcm.fail("device-1", "unregistered", times=1)
        ...
        assert fcm.messages(token="device-2")[0]["message"]["notification"]["title"] == "Hi"

The server runs in its own thread and event loop: google-auth fetches access tokens with blocking calls, so a
server on the test's loop would deadlock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from devstack.sinks.fcm.app import create_app
from devstack.sinks.fcm.credentials import DEFAULT_PROJECT_ID, write_service_account


@dataclass
class RunningFcmServer:
    """A started server: its base URL (the ``FCM_ENDPOINT``), service-account file and project."""

    url: str
    credentials_path: Path
    project_id: str = DEFAULT_PROJECT_ID

    def messages(self, token: str | None = None) -> list[dict[str, Any]]:
        """The accepted messages (records with ``name``, ``project``, ``message``), oldest first."""
        params = {"token": token} if token is not None else {}
        response = httpx.get(f"{self.url}/messages", params=params)
        response.raise_for_status()
        return list(response.json())

    def fail(self, token: str, behaviour: str, *, times: int | None = None, retry_after: int | None = None) -> None:
        """Make sends to ``token`` (``*``: any) fail with ``behaviour`` (``unregistered``, ``quota``...)."""
        body = {"behaviour": behaviour, "times": times, "retry_after": retry_after}
        httpx.post(f"{self.url}/tokens/{token}", json=body).raise_for_status()

    def reset(self) -> None:
        """Forget every recorded message and registered behaviour."""
        httpx.delete(f"{self.url}/messages").raise_for_status()
        httpx.delete(f"{self.url}/tokens").raise_for_status()


@contextmanager
def running_fcm_server(directory: Path, project_id: str = DEFAULT_PROJECT_ID) -> Iterator[RunningFcmServer]:
    """Start the server on a free port of 127.0.0.1, with a service account in ``directory`` that it trusts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    credentials_path = directory / "fcm-service-account.json"
    write_service_account(credentials_path, url, project_id)
    config = uvicorn.Config(create_app(credentials_path), access_log=False, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fcm-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the FCM server did not start")
        time.sleep(0.01)
    try:
        yield RunningFcmServer(url=url, credentials_path=credentials_path, project_id=project_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


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
