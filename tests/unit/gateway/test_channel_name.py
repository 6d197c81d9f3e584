"""The REST schemas spell channels with a Literal (for the OpenAPI document); it must name the same channels."""

from __future__ import annotations

from typing import get_args

from common.channels import Channel
from gateway.schemas.notifications import ChannelName


def test_the_rest_literal_spells_the_same_channels() -> None:
    assert get_args(ChannelName) == tuple(channel.value for channel in Channel)
