"""What the push worker's tests share: push envelopes, users with devices, the gateway's part for push
envelopes, and the push worker running in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from common.amqp.publisher import protobuf_message
from common.envelope import encode_envelope
from common.ids import new_notification_id
from delivery.runtime import WorkerRuntime
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from push_worker.deliverer import PushDeliverer
from push_worker.settings import PushWorkerSettings
from tests.integration.delivery.support import FAST_RETRIES, Gateway
from tests.support.fcm_server import RunningFcmServer
from tests.support.user_service import INTERNAL_KEY, RunningUserService


def push_envelope(
    user_id: str,
    tokens: list[str],
    *,
    title: str = "Your order shipped",
    body: str = "It arrives tomorrow.",
    data: dict[str, str] | None = None,
    priority: pb.Priority = pb.PRIORITY_NORMAL,
) -> pb.MessageEnvelope:
    """A rendered push notification for ``tokens`` of ``user_id``."""
    return pb.MessageEnvelope(
        notification_id=str(new_notification_id()),
        correlation_id=f"req-{uuid.uuid4().hex[:8]}",
        channel=pb.CHANNEL_PUSH,
        priority=priority,
        user_id=user_id,
        push_recipient=pb.PushRecipient(device_tokens=tokens),
        push=pb.PushContent(title=title, body=body, data=data or {}),
        template=pb.TemplateRef(slug="order-shipped", version=1, locale="en"),
    )


@dataclass
class Users:
    """user_svc as the tests use it."""

    stub: pb_grpc.UserServiceStub

    async def create(self, tokens: list[str]) -> str:
        """A new user with an Android device for each of ``tokens``; the user's id."""
        email = f"push-{uuid.uuid4().hex[:12]}@example.com"
        created = await self.stub.CreateUser(pb.CreateUserRequest(name="Ada", email=email, password="correct horse"))
        for token in tokens:
            await self.stub.AddDevice(
                pb.AddDeviceRequest(user_id=created.user.id, token=token, platform=pb.PLATFORM_ANDROID)
            )
        return str(created.user.id)

    async def device_tokens(self, user_id: str) -> list[str]:
        """The user's registered device tokens."""
        response = await self.stub.GetUser(pb.GetUserRequest(user_id=user_id))
        return [device.token for device in response.user.devices]


def new_token(kind: str = "device") -> str:
    """A unique device token; ``kind`` is a behaviour of the FCM server (``unregistered``...) or ``device``."""
    return f"{kind}-{uuid.uuid4().hex}"


class PushGateway(Gateway):
    """The delivery tests' gateway stand-in, for push envelopes: a ``queued`` push row, published on ``push``."""

    async def insert_row(self, envelope: pb.MessageEnvelope) -> None:
        await self.db.execute(
            """INSERT INTO notification_statuses
               (id, channel, user_id, template_slug, template_version, status, envelope, published_at, request_id,
                application_id)
               VALUES ($1, 'push', $2, $3, $4, 'queued', $5, now(), $6,
                   (SELECT id FROM applications WHERE name = 'default'))""",
            uuid.UUID(envelope.notification_id),
            uuid.UUID(envelope.user_id),
            envelope.template.slug,
            envelope.template.version,
            encode_envelope(envelope),
            envelope.correlation_id,
        )

    async def publish(self, envelope: pb.MessageEnvelope) -> None:
        message = protobuf_message(
            envelope, message_id=envelope.notification_id, correlation_id=envelope.correlation_id
        )
        await self.publisher.publish(self.publisher.topology.direct, message, "push")


def push_worker_settings(
    fcm: RunningFcmServer, user_service: RunningUserService, **overrides: Any
) -> PushWorkerSettings:
    """Push worker settings on the FCM server and user_svc, with fast retries and a short breaker pause."""
    values: dict[str, Any] = {
        "google_application_credentials": fcm.credentials_path,
        "fcm_endpoint": fcm.url,
        "user_service_url": user_service.target,
        "user_service_internal_api_key": INTERNAL_KEY,
        "port": 0,
        "retry_delay_scale": FAST_RETRIES,
        "breaker_pause_seconds": 0.5,
        "shutdown_grace_seconds": 5,
    }
    values.update(overrides)
    return PushWorkerSettings(**values)


@asynccontextmanager
async def running_push_worker(settings: PushWorkerSettings) -> AsyncIterator[WorkerRuntime]:
    """The push worker's runtime consuming in this process, built as ``python -m push_worker`` builds it."""
    deliverer = PushDeliverer.from_settings(settings)
    runtime = WorkerRuntime(settings, deliverer, name="push_worker-test")
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await deliverer.close()
