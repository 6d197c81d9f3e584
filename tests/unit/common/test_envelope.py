"""The envelope codec: what a worker can deliver decodes; anything else is recognised as poison."""

import pytest

from common.envelope import EnvelopeError, decode_envelope, encode_envelope
from notification.v1 import notification_pb2 as pb


def email_envelope() -> pb.MessageEnvelope:
    return pb.MessageEnvelope(
        notification_id="01900000-0000-7000-8000-000000000001",
        correlation_id="req-1",
        channel=pb.CHANNEL_EMAIL,
        priority=pb.PRIORITY_HIGH,
        user_id="7d8f0c1e-0000-4000-8000-000000000001",
        email_recipient=pb.EmailRecipient(address="ada@example.com", name="Ada"),
        email=pb.EmailContent(subject="Hi", text_body="Hello Ada", html_body="<p>Hello Ada</p>"),
        template=pb.TemplateRef(slug="welcome", version=2, locale="en"),
        metadata={"campaign": "onboarding"},
    )


def test_an_envelope_round_trips() -> None:
    envelope = email_envelope()
    assert decode_envelope(encode_envelope(envelope)) == envelope


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff", b"not protobuf at all", b""],
)
def test_garbage_is_poison(body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        decode_envelope(body)


def test_an_envelope_without_content_is_poison() -> None:
    envelope = email_envelope()
    envelope.ClearField("email")
    with pytest.raises(EnvelopeError, match="content"):
        decode_envelope(encode_envelope(envelope))
