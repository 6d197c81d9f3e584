"""The ``MessageEnvelope`` on the wire: protobuf bytes, decoded strictly so a poison message is recognised."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from notification.v1 import notification_pb2 as pb


class EnvelopeError(ValueError):
    """A body that is not a usable ``MessageEnvelope``; the message belongs in the dead-letter queue."""


def encode_envelope(envelope: pb.MessageEnvelope) -> bytes:
    """The envelope's wire bytes."""
    return envelope.SerializeToString()


def decode_envelope(body: bytes) -> pb.MessageEnvelope:
    """The envelope in ``body``; raises :class:`EnvelopeError` when it does not decode or lacks what a worker
    needs (id, channel, recipient, content)."""
    envelope = pb.MessageEnvelope()
    try:
        envelope.ParseFromString(body)
    except DecodeError as error:
        raise EnvelopeError(f"body is not a MessageEnvelope: {error}") from None
    if not envelope.notification_id:
        raise EnvelopeError("envelope has no notification_id")
    if envelope.channel == pb.CHANNEL_UNSPECIFIED:
        raise EnvelopeError("envelope has no channel")
    if envelope.WhichOneof("recipient") is None or envelope.WhichOneof("content") is None:
        raise EnvelopeError("envelope has no recipient or no content")
    return envelope


def is_transactional(envelope: pb.MessageEnvelope) -> bool:
    """Whether the envelope's category is transactional; one without a category (published before categories
    existed) is."""
    return not envelope.category or envelope.transactional
