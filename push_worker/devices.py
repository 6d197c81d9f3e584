"""Removing dead device tokens through user_svc's gRPC API (``UserService.RemoveDevice``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from enum import StrEnum

import grpc

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc

logger = logging.getLogger(__name__)


class Removal(StrEnum):
    """What became of a dead token's device."""

    REMOVED = "removed"
    ALREADY_GONE = "already_gone"
    """user_svc had no such device (removed by an earlier attempt or by the user)."""
    FAILED = "remove_failed"
    """user_svc could not be reached or refused; the token is seen dead again next time and removed then."""


class DeviceRegistry:
    """The user's devices as user_svc keeps them."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 2.0) -> None:
        """Call user_svc over ``channel`` (which this registry owns and closes)."""
        self._channel = channel
        self._stub = pb_grpc.UserServiceStub(channel)
        self._timeout = timeout_seconds

    async def remove(self, user_id: str, token: str) -> Removal:
        """Remove ``token`` from the user's devices; never raises."""
        try:
            await self._stub.RemoveDevice(pb.RemoveDeviceRequest(user_id=user_id, token=token), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return Removal.ALREADY_GONE
            logger.warning("could not remove a dead device token of user %s: %s", user_id, error.code().name)
            return Removal.FAILED
        return Removal.REMOVED

    async def remove_all(self, user_id: str, tokens: Iterable[str]) -> dict[str, Removal]:
        """Remove every token in ``tokens`` concurrently; what became of each."""
        tokens = list(tokens)
        results = await asyncio.gather(*(self.remove(user_id, token) for token in tokens))
        return dict(zip(tokens, results, strict=True))

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()
