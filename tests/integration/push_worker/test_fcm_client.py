"""firebase-admin, configured by push_worker.fcm: FCM_ENDPOINT really redirects its sends, and its own error
mapping turns the local server's answers into the exceptions the worker classifies."""

from __future__ import annotations

import warnings

import pytest
from firebase_admin import exceptions, messaging

from push_worker.fcm import FcmClient
from tests.integration.push_worker.helpers import new_token
from tests.support.fcm_server import RunningFcmServer


def message(token: str) -> messaging.Message:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(token=token, notification=messaging.Notification(title="Hi", body="there"))


async def test_fcm_endpoint_sends_to_the_local_server(fcm: RunningFcmServer) -> None:
    client = FcmClient(str(fcm.credentials_path), fcm.url)
    token = new_token()
    try:
        [response] = await client.send_each([message(token)])
    finally:
        await client.close()

    assert client.send_url == f"{fcm.url}/v1/projects/local-notifications/messages:send"
    [record] = fcm.messages(token=token)
    assert response.success
    assert response.message_id == record["name"]
    assert record["message"]["notification"] == {"title": "Hi", "body": "there"}


async def test_without_fcm_endpoint_sends_go_to_google(fcm: RunningFcmServer) -> None:
    client = FcmClient(str(fcm.credentials_path), None)
    await client.close()

    assert client.send_url == "https://fcm.googleapis.com/v1/projects/local-notifications/messages:send"


@pytest.mark.usefixtures("fast_sdk_retries")
async def test_firebase_admin_maps_each_fcm_error_to_its_exception(fcm: RunningFcmServer) -> None:
    expected = {
        "unregistered": messaging.UnregisteredError,
        "sender-id-mismatch": messaging.SenderIdMismatchError,
        "invalid": exceptions.InvalidArgumentError,
        "unavailable": exceptions.UnavailableError,
        "internal": exceptions.InternalError,
        "quota": messaging.QuotaExceededError,
    }
    client = FcmClient(str(fcm.credentials_path), fcm.url)
    try:
        responses = await client.send_each([message(new_token(kind)) for kind in expected])
    finally:
        await client.close()

    assert [type(response.exception) for response in responses] == list(expected.values())
    assert responses[-1].exception.http_response.headers["Retry-After"] == "60"
