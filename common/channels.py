"""The delivery channels, named once: the spelling of tables, queues, routing keys, metrics and REST
(``email``, ``push``) and its conversion to and from the contract's ``notification.v1.Channel``."""

from __future__ import annotations

from enum import StrEnum

from notification.v1 import notification_pb2 as pb


class Channel(StrEnum):
    """A delivery channel; its value is the name every table, queue, metric label and REST body uses."""

    EMAIL = "email"
    PUSH = "push"

    @classmethod
    def from_proto(cls, value: int) -> Channel:
        """The channel of a proto ``Channel``; ValueError for ``CHANNEL_UNSPECIFIED`` or a number we do not know."""
        try:
            return _BY_PROTO[value]
        except KeyError:
            name = pb.Channel.Name(value) if value in pb.Channel.values() else str(value)
            raise ValueError(f"proto channel {name} is not a delivery channel") from None

    @property
    def proto(self) -> pb.Channel:
        """The contract's enum value of this channel."""
        return _PROTO[self]


_PROTO = {Channel.EMAIL: pb.CHANNEL_EMAIL, Channel.PUSH: pb.CHANNEL_PUSH}
_BY_PROTO: dict[int, Channel] = {value: channel for channel, value in _PROTO.items()}
