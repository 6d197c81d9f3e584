"""Removing dead device tokens through user_svc's gRPC API (``UserService.RemoveDevice``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from enum import StrEnum

import grpc

from common.grpc.client import internal_channel
from common.grpc.tls import PLAINTEXT, GrpcTls
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

    def __init__(self, target: str, internal_key: str, timeout_seconds: float = 2.0, tls: GrpcTls = PLAINTEXT) -> None:
        """Call user_svc at ``target`` (``host:port``) with the internal key, over TLS when ``tls`` is enabled;
        the channel opens on first use, inside the running event loop."""
        self._target = target
        self._internal_key = internal_key
        self._tls = tls
        self._timeout = timeout_seconds
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.UserServiceStub | None = None

    def _user_service(self) -> pb_grpc.UserServiceStub:
        if self._stub is None:
            self._channel = internal_channel(self._target, self._internal_key, self._tls)
            self._stub = pb_grpc.UserServiceStub(self._channel)
        return self._stub

    async def remove(self, user_id: str, token: str) -> Removal:
        """Remove ``token`` from the user's devices; never raises."""
        try:
            await self._user_service().RemoveDevice(
                pb.RemoveDeviceRequest(user_id=user_id, token=token), timeout=self._timeout
            )
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
        """Close the channel, if it was opened."""
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None
