"""Building push envelopes and users with devices for the push worker's tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc


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
        notification_id=str(uuid.uuid4()),
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
