"""The local FCM server answers like FCM HTTP v1 and Google's token endpoint, over real HTTP."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account

from devstack.sinks.fcm.credentials import generate_service_account, write_service_account
from devstack.stack import free_port
from tests.support.fcm_server import RunningFcmServer

SCOPES = ["https://www.googleapis.com/auth/firebase.messaging"]
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def access_token(credentials_path: Path) -> str:
    """An access token from the server's token endpoint, fetched the way firebase-admin does (google-auth)."""
    credentials = service_account.Credentials.from_service_account_file(str(credentials_path), scopes=SCOPES)
    credentials.refresh(google.auth.transport.requests.Request())
    return str(credentials.token)


@pytest.fixture(scope="module")
def bearer(fcm_server: RunningFcmServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(fcm_server.credentials_path)}"}


def send(fcm: RunningFcmServer, body: Any, headers: dict[str, str], project: str | None = None) -> httpx.Response:
    url = f"{fcm.url}/v1/projects/{project or fcm.project_id}/messages:send"
    return httpx.post(url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"})


def test_the_token_endpoint_grants_the_service_account_a_bearer_token(fcm: RunningFcmServer) -> None:
    response = httpx.post(
        f"{fcm.url}/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "not-a-jwt"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"

    assert access_token(fcm.credentials_path).startswith("ya29.")


def test_an_assertion_signed_by_another_key_is_refused(fcm: RunningFcmServer, tmp_path: Path) -> None:
    impostor = tmp_path / "impostor.json"
    impostor.write_text(json.dumps(generate_service_account(fcm.url)))

    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        access_token(impostor)


def test_a_send_without_a_valid_bearer_token_is_unauthenticated(fcm: RunningFcmServer) -> None:
    message = {"message": {"token": "device-1"}}

    for headers in ({}, {"Authorization": "Bearer ya29.unknown"}):
        response = send(fcm, message, headers)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == "UNAUTHENTICATED"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert fcm.messages() == []


def test_a_send_to_another_project_is_permission_denied(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    response = send(fcm, {"message": {"token": "device-1"}}, bearer, project="someone-else")

    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "errorCode" not in json.dumps(response.json())


def test_an_accepted_message_is_recorded_until_cleared(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    message = {
        "token": "device-1",
        "notification": {"title": "Hi", "body": "there"},
        "data": {"order": "42"},
        "android": {"priority": "high", "ttl": "3600s"},
        "apns": {"headers": {"apns-priority": "10"}, "payload": {"aps": {"badge": 1}}},
        "webpush": {"headers": {"Urgency": "high"}},
    }

    response = send(fcm, {"message": message}, bearer)
    send(fcm, {"message": {**message, "token": "device-2"}}, bearer)

    assert response.status_code == 200
    name = response.json()["name"]
    assert name.startswith(f"projects/{fcm.project_id}/messages/")
    recorded = fcm.messages(token="device-1")
    assert [(r["name"], r["project"], r["message"]) for r in recorded] == [(name, fcm.project_id, message)]
    assert len(fcm.messages()) == 2
    assert httpx.delete(f"{fcm.url}/messages").status_code == 204
    assert fcm.messages() == []
    assert httpx.get(f"{fcm.url}/messages/stats").json() == {"accepted": 0, "with_collapse_key": 0, "duplicates": 0}


def test_stats_count_every_message_and_the_repeats_of_a_collapse_key_to_a_token(
    fcm: RunningFcmServer, bearer: dict[str, str]
) -> None:
    httpx.delete(f"{fcm.url}/messages")
    message = {"token": "device-1", "notification": {"title": "Hi"}, "android": {"collapse_key": "n-1"}}
    for body in (
        message,
        {**message, "token": "device-2"},  # the same notification to another device: not a duplicate
        message,  # the same notification to the same device again: a duplicate
        {"token": "device-1", "notification": {"title": "no key"}},
    ):
        assert send(fcm, {"message": body}, bearer).status_code == 200
    stats = httpx.get(f"{fcm.url}/messages/stats").json()
    assert stats == {"accepted": 4, "with_collapse_key": 3, "duplicates": 1}


def test_a_validate_only_request_is_answered_but_not_recorded(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    response = send(fcm, {"message": {"topic": "news"}, "validate_only": True}, bearer)

    assert response.json() == {"name": f"projects/{fcm.project_id}/messages/fake_message_id"}
    assert fcm.messages() == []


@pytest.mark.parametrize(
    ("message", "field", "fcm_error_code"),
    [
        ({"token": "d", "colour": "red"}, "message", None),
        ({"token": "d", "notification": {"title": 5}}, "message.notification.title", None),
        ({"token": "d", "data": {"count": 1}}, "message.data[0].value", None),
        ({"token": "d", "android": {"priority": "urgent"}}, "message.android.priority", None),
        ({"token": "d", "android": {"ttl": "1 hour"}}, "message.android.ttl", None),
        ({"token": "d", "apns": {"headers": []}}, "message.apns.headers", None),
        ({"token": "d", "topic": "news"}, "message", None),
        ({"notification": {"title": "Hi"}}, "message", "INVALID_ARGUMENT"),
        ({"token": ""}, "message.token", "INVALID_ARGUMENT"),
        ({"token": "d", "data": {"from": "me"}}, "message.data", "INVALID_ARGUMENT"),
        ({"token": "d", "data": {"blob": "x" * 5000}}, "message", "INVALID_ARGUMENT"),
    ],
    ids=[
        "unknown-field",
        "title-not-a-string",
        "data-value-not-a-string",
        "unknown-android-priority",
        "bad-ttl",
        "headers-not-a-map",
        "two-targets",
        "no-target",
        "empty-token",
        "reserved-data-key",
        "too-big",
    ],
)
def test_an_invalid_message_is_refused_like_fcm_does(
    fcm: RunningFcmServer, bearer: dict[str, str], message: dict[str, Any], field: str, fcm_error_code: str | None
) -> None:
    response = send(fcm, {"message": message}, bearer)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    details = {detail["@type"]: detail for detail in error["details"]}
    assert details[BAD_REQUEST]["fieldViolations"][0]["field"] == field
    assert details.get(FCM_ERROR, {}).get("errorCode") == fcm_error_code
    assert fcm.messages() == []


@pytest.mark.parametrize(
    ("behaviour", "http_status", "status", "error_code", "retry_after"),
    [
        ("unregistered", 404, "NOT_FOUND", "UNREGISTERED", None),
        ("sender-id-mismatch", 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", None),
        ("invalid", 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", None),
        ("unavailable", 503, "UNAVAILABLE", "UNAVAILABLE", None),
        ("internal", 500, "INTERNAL", "INTERNAL", None),
        ("quota", 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "60"),
    ],
)
def test_a_failing_token_gets_fcms_exact_answer(
    fcm: RunningFcmServer,
    bearer: dict[str, str],
    behaviour: str,
    http_status: int,
    status: str,
    error_code: str,
    retry_after: str | None,
) -> None:
    by_prefix = send(fcm, {"message": {"token": f"{behaviour}-device"}}, bearer)
    fcm.fail("device-1", behaviour)
    registered = send(fcm, {"message": {"token": "device-1"}}, bearer)

    for response in (by_prefix, registered):
        assert response.status_code == http_status
        error = response.json()["error"]
        assert (error["code"], error["status"]) == (http_status, status)
        assert error["message"]
        assert error["details"][0] == {"@type": FCM_ERROR, "errorCode": error_code}
        assert response.headers.get("Retry-After") == retry_after
    assert fcm.messages() == []


def test_a_registered_behaviour_fails_the_given_number_of_sends(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    fcm.fail("device-1", "unavailable", times=2, retry_after=3)

    statuses = [send(fcm, {"message": {"token": "device-1"}}, bearer) for _ in range(3)]

    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "3"
    assert httpx.get(f"{fcm.url}/tokens").json() == {}


def test_the_wildcard_behaviour_fails_every_token(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    fcm.fail("*", "internal", times=2)

    statuses = [send(fcm, {"message": {"token": f"device-{n}"}}, bearer).status_code for n in range(3)]

    assert statuses == [500, 500, 200]


def test_behaviours_can_be_listed_and_forgotten(fcm: RunningFcmServer, bearer: dict[str, str]) -> None:
    fcm.fail("device-1", "quota", times=5, retry_after=1)

    assert httpx.get(f"{fcm.url}/tokens").json() == {"device-1": {"behaviour": "quota", "times": 5, "retry_after": 1}}
    assert httpx.delete(f"{fcm.url}/tokens/device-1").status_code == 204
    assert httpx.delete(f"{fcm.url}/tokens/device-1").status_code == 404
    assert send(fcm, {"message": {"token": "device-1"}}, bearer).status_code == 200
    assert httpx.post(f"{fcm.url}/tokens/device-1", json={"behaviour": "sleepy"}).status_code == 422


def test_the_credentials_command_writes_a_private_service_account_once(tmp_path: Path) -> None:
    path = tmp_path / "run" / "sa.json"
    command = [sys.executable, "-m", "devstack.sinks.fcm", "credentials", str(path), "--url", "http://127.0.0.1:9099"]

    assert "written" in subprocess.run(command, check=True, capture_output=True, text=True).stdout

    first = json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first["token_uri"] == "http://127.0.0.1:9099/token"
    assert first["project_id"] == "local-notifications"
    service_account.Credentials.from_service_account_info(first)
    assert write_service_account(path, "http://127.0.0.1:9099") is False
    assert json.loads(path.read_text()) == first
    assert write_service_account(path, "http://127.0.0.1:9100") is True
    assert json.loads(path.read_text())["private_key_id"] != first["private_key_id"]


def test_python_m_devstack_sinks_fcm_serves_with_the_stacks_service_account(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "sa.json"
    environment = {**os.environ, "FCM_SINK_PORT": str(port), "GOOGLE_APPLICATION_CREDENTIALS": str(path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "devstack.sinks.fcm"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/health").raise_for_status()
                break
            except httpx.TransportError:
                assert server.poll() is None, "the FCM server exited"
                assert time.monotonic() < deadline, "the FCM server did not start within 20 s"
                time.sleep(0.05)
        assert json.loads(path.read_text())["token_uri"] == f"{url}/token"
        running = RunningFcmServer(url=url, credentials_path=path)
        bearer = {"Authorization": f"Bearer {access_token(path)}"}
        assert send(running, {"message": {"token": "device-1"}}, bearer).status_code == 200
        assert [r["message"]["token"] for r in running.messages()] == ["device-1"]
    finally:
        server.terminate()
        server.wait(10)
