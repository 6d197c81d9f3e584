"""The gRPC backends: one pooled channel per service, carrying the internal key and the request id, with a
deadline on every call and bounded retries of ``UNAVAILABLE`` (``common.grpc.client``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.client import internal_channel
from gateway.settings import GatewaySettings
from notification.v1 import notification_pb2_grpc as pb_grpc


@dataclass
class Backends:
    """Stubs of user_svc and template_svc, and the deadline of each call (``timeout`` seconds)."""

    users: pb_grpc.UserServiceStub
    templates: pb_grpc.TemplateServiceStub
    timeout: float
    _channels: tuple[grpc.aio.Channel, grpc.aio.Channel]

    @classmethod
    def open(cls, settings: GatewaySettings) -> Backends:
        """Channels to both services; they connect lazily and reconnect by themselves."""
        user_channel = internal_channel(
            settings.user_service_url, settings.user_service_internal_api_key, settings.grpc_tls
        )
        template_channel = internal_channel(
            settings.template_service_url, settings.template_service_internal_api_key, settings.grpc_tls
        )
        return cls(
            users=pb_grpc.UserServiceStub(user_channel),
            templates=pb_grpc.TemplateServiceStub(template_channel),
            timeout=settings.grpc_timeout_seconds,
            _channels=(user_channel, template_channel),
        )

    async def serving(self) -> dict[str, bool]:
        """Whether each service answers its health check as SERVING (asked concurrently, 1 s each at most)."""

        async def check(channel: grpc.aio.Channel) -> bool:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=min(self.timeout, 1.0)
                )
            except grpc.aio.AioRpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

        results = await asyncio.gather(*(check(channel) for channel in self._channels))
        return dict(zip(("user_svc", "template_svc"), results, strict=True))

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
