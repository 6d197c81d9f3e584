"""The gateway keeps recipients' profiles briefly and drops one as soon as the user changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from common.grpc.client import internal_channel
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.gateway.harness import (
    DEFAULT_APPLICATION,
    Gateway,
    create_user,
    gateway_settings,
    running_gateway,
)
from tests.integration.gateway.test_send import send_body
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService


@pytest.fixture
async def caching_gateway(
    infra: Infra,
    user_service: RunningUserService,
    template_service: RunningTemplateService,
    templates: None,
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
        profile_cache_seconds=60,
    )
    async with running_gateway(settings) as running:
        yield running


async def test_a_change_made_elsewhere_evicts_the_cached_profile(
    caching_gateway: Gateway, user_service: RunningUserService, amqp: AmqpSession
) -> None:
    gateway = caching_gateway
    user = await create_user(gateway.client)
    assert (await gateway.client.post("/v1/notifications/send", json=send_body(user))).json()["status"] == "queued"
    assert gateway.resources.profiles.cached(DEFAULT_APPLICATION, user["id"]) is not None

    async with internal_channel(user_service.target, user_service.settings.internal_api_key) as channel:
        await pb_grpc.UserServiceStub(channel).UpdatePreferences(
            pb.UpdatePreferencesRequest(user_id=user["id"], preferences=pb.Preferences(email=False, push=True))
        )
    for _ in range(100):  # the UserChanged event arrives within milliseconds
        if gateway.resources.profiles.cached(DEFAULT_APPLICATION, user["id"]) is None:
            break
        await asyncio.sleep(0.02)
    skipped = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    assert skipped.json()["reason"] == "channel_disabled"


async def test_a_change_through_this_gateway_evicts_at_once(caching_gateway: Gateway) -> None:
    gateway = caching_gateway
    user = await create_user(gateway.client)
    await gateway.client.post("/v1/notifications/send", json=send_body(user))
    await gateway.client.put(f"/v1/users/{user['id']}/preferences", json={"email": False, "push": True})
    skipped = await gateway.client.post("/v1/notifications/send", json=send_body(user))
    assert skipped.json()["reason"] == "channel_disabled"


async def test_a_patch_of_the_preferences_reaches_the_profile_sends_read(caching_gateway: Gateway) -> None:
    gateway = caching_gateway
    user = await create_user(gateway.client)
    await gateway.client.post("/v1/notifications/send", json=send_body(user))  # the profile is cached now
    night = {"start": "22:00", "end": "07:00"}

    await gateway.client.patch(
        f"/v1/users/{user['id']}/preferences", json={"timezone": "Asia/Tokyo", "quiet_hours": night}
    )

    profile = await gateway.resources.profiles.get(DEFAULT_APPLICATION, user["id"])
    assert profile.preferences == pb.Preferences(
        email=True, push=True, timezone="Asia/Tokyo", quiet_hours=pb.QuietHours(**night)
    )


@pytest.mark.usefixtures("templates")
async def test_sends_are_counted_by_channel_and_outcome(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client, preferences={"email": True, "push": False})
    await gateway.client.post("/v1/notifications/send", json=send_body(user))
    await gateway.client.post("/v1/notifications/send", json=send_body(user, channel="push"))
    metrics = (await gateway.client.get("/metrics")).text
    assert 'gateway_notifications_accepted_total{channel="email"}' in metrics
    assert 'gateway_notifications_skipped_total{channel="push",reason="channel_disabled"}' in metrics
    assert str(uuid.UUID(user["id"])) not in metrics
