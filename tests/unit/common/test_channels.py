"""The one channel vocabulary: every channel has its proto value and back, and nothing else converts."""

from __future__ import annotations

import pytest

from common.channels import Channel
from notification.v1 import notification_pb2 as pb


@pytest.mark.parametrize(
    ("channel", "proto", "name"),
    [(Channel.EMAIL, pb.CHANNEL_EMAIL, "email"), (Channel.PUSH, pb.CHANNEL_PUSH, "push")],
)
def test_a_channel_converts_to_its_proto_value_and_back(channel: Channel, proto: pb.Channel, name: str) -> None:
    assert channel.proto == proto
    assert Channel.from_proto(proto) is channel
    assert channel == name
    assert f"{channel}.queue" == f"{name}.queue"  # formats as its value: queue names, routing keys, labels
    assert Channel(name) is channel


def test_the_proto_and_the_enum_name_the_same_channels() -> None:
    specified = [value for value in pb.Channel.values() if value != pb.CHANNEL_UNSPECIFIED]
    assert sorted(channel.proto for channel in Channel) == sorted(specified)


@pytest.mark.parametrize(("value", "named"), [(pb.CHANNEL_UNSPECIFIED, "CHANNEL_UNSPECIFIED"), (7, "7"), (-1, "-1")])
def test_unspecified_or_unknown_proto_values_are_refused_by_name(value: int, named: str) -> None:
    with pytest.raises(ValueError, match=f"proto channel {named} is not a delivery channel"):
        Channel.from_proto(value)
