"""Properties of the envelope codec (``common.envelope``): every envelope a worker can deliver survives the
wire unchanged, and no body whatsoever makes the decoder fail in any other way than ``EnvelopeError``."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from common.envelope import EnvelopeError, decode_envelope, encode_envelope
from notification.v1 import notification_pb2 as pb

text = st.text(max_size=40)
short = st.text(min_size=1, max_size=40)
int32 = st.integers(min_value=0, max_value=2**31 - 1)
timestamps = st.builds(
    lambda seconds, nanos: Timestamp(seconds=seconds, nanos=nanos),
    st.integers(min_value=0, max_value=253402300799),
    st.integers(min_value=0, max_value=999_999_999),
)
priorities = st.sampled_from([pb.PRIORITY_UNSPECIFIED, pb.PRIORITY_LOW, pb.PRIORITY_NORMAL, pb.PRIORITY_HIGH])


@st.composite
def envelopes(draw: st.DrawFn) -> pb.MessageEnvelope:
    """Any envelope :func:`decode_envelope` accepts: an id, a channel, a recipient and content of that channel."""
    channel = draw(st.sampled_from([pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH]))
    envelope = pb.MessageEnvelope(
        notification_id=draw(short),
        correlation_id=draw(text),
        channel=channel,
        priority=draw(priorities),
        user_id=draw(text),
        template=pb.TemplateRef(slug=draw(text), version=draw(int32), locale=draw(text)),
        metadata=draw(st.dictionaries(text, text, max_size=4)),
        attempt=draw(int32),
    )
    if channel == pb.CHANNEL_EMAIL:
        envelope.email_recipient.CopyFrom(pb.EmailRecipient(address=draw(text), name=draw(text)))
        envelope.email.CopyFrom(pb.EmailContent(subject=draw(text), text_body=draw(text), html_body=draw(text)))
    else:
        envelope.push_recipient.CopyFrom(pb.PushRecipient(device_tokens=draw(st.lists(text, max_size=4))))
        data = draw(st.dictionaries(text, text, max_size=4))
        envelope.push.CopyFrom(pb.PushContent(title=draw(text), body=draw(text), data=data))
    for field in ("created_at", "expires_at"):
        stamp = draw(st.none() | timestamps)
        if stamp is not None:
            getattr(envelope, field).CopyFrom(stamp)
    return envelope


def assert_deliverable(envelope: pb.MessageEnvelope) -> None:
    """What the decoder promises a worker about an envelope it returns."""
    assert envelope.notification_id
    assert envelope.channel != pb.CHANNEL_UNSPECIFIED
    assert envelope.WhichOneof("recipient") is not None
    assert envelope.WhichOneof("content") is not None


@given(envelopes())
def test_every_deliverable_envelope_round_trips(envelope: pb.MessageEnvelope) -> None:
    decoded = decode_envelope(encode_envelope(envelope))
    assert decoded == envelope


def decodes_or_refuses(body: bytes) -> None:
    try:
        envelope = decode_envelope(body)
    except EnvelopeError:
        return
    assert_deliverable(envelope)


@given(st.binary(max_size=512))
def test_random_bytes_decode_or_raise_envelope_error_only(body: bytes) -> None:
    decodes_or_refuses(body)


@given(envelopes(), st.data())
def test_damaged_envelopes_decode_or_raise_envelope_error_only(
    envelope: pb.MessageEnvelope, data: st.DataObject
) -> None:
    body = bytearray(encode_envelope(envelope))
    cut = data.draw(st.integers(min_value=0, max_value=len(body)), label="truncate at")
    decodes_or_refuses(bytes(body[:cut]))
    if body:
        for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="flips")):
            index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="byte")
            body[index] = data.draw(st.integers(min_value=0, max_value=255), label="value")
        decodes_or_refuses(bytes(body))


@given(envelopes())
def test_an_envelope_missing_what_a_worker_needs_is_refused(envelope: pb.MessageEnvelope) -> None:
    for strip in ("notification_id", "channel", "recipient", "content"):
        damaged = pb.MessageEnvelope()
        damaged.CopyFrom(envelope)
        if strip in ("recipient", "content"):
            damaged.ClearField(damaged.WhichOneof(strip))
        else:
            damaged.ClearField(strip)
        try:
            decode_envelope(encode_envelope(damaged))
        except EnvelopeError:
            continue
        raise AssertionError(f"an envelope without {strip} decoded")
