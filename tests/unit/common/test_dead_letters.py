"""Reading DLQ messages for the replay command: worker headers, broker ``x-death`` headers, and poison."""

from __future__ import annotations

from common.dead_letters import read_dead_letter
from notification.v1 import notification_pb2 as pb

NOTIFICATION_ID = "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01"


def envelope(channel: pb.Channel = pb.CHANNEL_PUSH) -> bytes:
    return pb.MessageEnvelope(
        notification_id=NOTIFICATION_ID,
        channel=channel,
        push_recipient=pb.PushRecipient(device_tokens=["t"]),
        push=pb.PushContent(title="Hi", body="there"),
        attempt=4,
    ).SerializeToString()


def test_a_worker_dead_letter_names_its_reason_attempts_and_queue() -> None:
    headers = {
        "x-failure-reason": "retries_exhausted",
        "x-failure-detail": "503 unavailable",
        "x-attempts": 5,
        "x-original-routing-key": "push",
    }

    letter = read_dead_letter(envelope(), headers, NOTIFICATION_ID)

    assert (letter.notification_id, letter.routing_key, letter.reason) == (NOTIFICATION_ID, "push", "retries_exhausted")
    assert (letter.attempts, letter.detail) == (5, "503 unavailable")
    assert letter.envelope is not None
    assert letter.envelope.attempt == 4


def test_a_broker_dead_letter_goes_back_by_its_x_death_routing_key() -> None:
    headers = {"x-death": [{"reason": "rejected", "queue": "push.queue", "routing-keys": ["push"], "count": 1}]}

    letter = read_dead_letter(envelope(), headers, NOTIFICATION_ID)

    assert (letter.routing_key, letter.reason, letter.attempts) == ("push", "broker: rejected", None)


def test_without_headers_the_envelope_channel_names_the_queue() -> None:
    assert read_dead_letter(envelope(pb.CHANNEL_EMAIL), None, None).routing_key == "email"


def test_poison_has_no_envelope_and_says_why() -> None:
    letter = read_dead_letter(b"\xff not protobuf", {"x-failure-reason": "poison"}, "abc")

    assert letter.envelope is None
    assert (letter.notification_id, letter.reason, letter.routing_key) == ("abc", "poison", None)
    assert letter.problem
