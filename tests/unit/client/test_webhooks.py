"""The client's webhook verification agrees with the signer webhook_worker uses (common.webhook_signature): what
the gateway signs verifies, with any of the secrets of a rotation, and a changed body, a stale or future
timestamp, a missing header or a foreign secret does not."""

from __future__ import annotations

import json

import pytest

from common.webhook_signature import new_secret, signed_headers
from notify_client import WebhookVerificationError, construct_event, verify

BODY = json.dumps({"type": "webhook.test", "timestamp": "2026-12-07T04:03:47Z", "data": {"x": 1}}).encode()
NOW = 1_796_616_227


def test_a_delivery_signed_by_the_gateway_verifies_and_parses() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "01a24eac-0a53-7591-b026-7b098bafa40e", NOW, BODY)

    event = construct_event(secret, headers, BODY, now=NOW + 299)

    assert (event.type, event.data) == ("webhook.test", {"x": 1})


def test_header_names_are_read_in_any_case() -> None:
    secret = new_secret()
    headers = {name.title(): value for name, value in signed_headers([secret], "id-1", NOW, BODY).items()}

    verify(secret, headers, BODY, now=NOW)


def test_during_a_rotation_either_secret_verifies_and_a_receiver_may_hold_both() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers([new, old], "id-2", NOW, BODY)

    for secrets in (old, new, [new_secret(), old]):
        verify(secrets, headers, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify([new_secret()], headers, BODY, now=NOW)


@pytest.mark.parametrize(
    ("body", "now", "message"),
    [
        (BODY + b" ", NOW, "no signature matches"),
        (BODY, NOW + 301, "too far from now"),
        (BODY, NOW - 301, "too far from now"),
    ],
)
def test_a_changed_body_or_a_timestamp_out_of_five_minutes_is_refused(body: bytes, now: int, message: str) -> None:
    secret = new_secret()
    headers = signed_headers([secret], "id-3", NOW, BODY)

    with pytest.raises(WebhookVerificationError, match=message):
        verify(secret, headers, body, now=now)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str) -> None:
    secret = new_secret()
    headers = signed_headers([secret], "id-4", NOW, BODY)
    del headers[missing]

    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(secret, headers, BODY, now=NOW)
