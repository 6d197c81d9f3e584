"""The gateway renders sends in-process from template versions it caches: a template change applies to the
very next send (at once for writes through this gateway, by the TemplateChanged event for others), and with
the profile and the template cached a send makes no gRPC call at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

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
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService


@pytest.fixture
async def caching_gateway(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
        profile_cache_seconds=60,
        template_cache_seconds=60,
    )
    async with running_gateway(settings) as running:
        yield running


async def new_template(gateway: Gateway, **content: str) -> str:
    slug = f"cache-{uuid.uuid4().hex[:10]}"
    body = {"slug": slug, "channel": "email", "locale": "en", "subject": "v1 {{ name }}", "body": "b", **content}
    response = await gateway.client.post("/v1/templates", json=body)
    assert response.status_code == 201, response.text
    return slug


async def sent_subject(gateway: Gateway, amqp: AmqpSession, user: dict[str, Any], slug: str) -> str:
    response = await gateway.client.post(
        "/v1/notifications/send",
        json={"user_id": user["id"], "channel": "email", "template": slug, "variables": {"name": "Ada"}},
    )
    assert response.status_code == 202, response.text
    message = await amqp.get("email.queue")
    await message.ack()
    return pb.MessageEnvelope.FromString(message.body).email.subject


def rpcs_served() -> float:
    """Every RPC the in-process user_svc and template_svc have handled so far."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "grpc_server_handling_seconds"
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


async def sent_once(gateway: Gateway, amqp: AmqpSession) -> tuple[dict[str, Any], str]:
    """A new user and a new template ("v1 {{ name }}"), sent once, so the gateway holds both."""
    user = await create_user(gateway.client, locale="en")
    slug = await new_template(gateway)
    assert await sent_subject(gateway, amqp, user, slug) == "v1 Ada"
    return user, slug


async def test_a_template_written_through_this_gateway_applies_to_the_very_next_send(
    caching_gateway: Gateway, amqp: AmqpSession
) -> None:
    gateway = caching_gateway
    user, slug = await sent_once(gateway, amqp)

    update = {"channel": "email", "locale": "en", "subject": "v2 {{ name }}", "body": "b"}
    assert (await gateway.client.put(f"/v1/templates/{slug}", json=update)).status_code == 200
    assert await sent_subject(gateway, amqp, user, slug) == "v2 Ada"

    activate = await gateway.client.post(f"/v1/templates/{slug}/versions/1/activate", params={"channel": "email"})
    assert activate.status_code == 200, activate.text
    assert await sent_subject(gateway, amqp, user, slug) == "v1 Ada"

    regional = {"slug": slug, "channel": "email", "locale": "en-GB", "subject": "GB {{ name }}", "body": "b"}
    assert (await gateway.client.post("/v1/templates", json=regional)).status_code == 201
    gb_user = await create_user(gateway.client, locale="en-GB")
    assert await sent_subject(gateway, amqp, gb_user, slug) == "GB Ada"

    assert (await gateway.client.delete(f"/v1/templates/{slug}", params={"channel": "email"})).status_code == 204
    gone = await gateway.client.post(
        "/v1/notifications/send", json={"user_id": user["id"], "channel": "email", "template": slug}
    )
    assert gone.status_code == 404


async def test_a_change_made_at_template_svc_reaches_the_next_sends(
    caching_gateway: Gateway, template_service: RunningTemplateService, amqp: AmqpSession
) -> None:
    gateway = caching_gateway
    user, slug = await sent_once(gateway, amqp)
    assert gateway.resources.templates.cached(DEFAULT_APPLICATION, slug, "email", "en") is not None

    async with internal_channel(template_service.target, template_service.settings.internal_api_key) as channel:
        await pb_grpc.TemplateServiceStub(channel).UpdateTemplate(
            pb.UpdateTemplateRequest(
                slug=slug, channel=pb.CHANNEL_EMAIL, locale="en", subject="v2 {{ name }}", body="b"
            )
        )
    for _ in range(100):  # the TemplateChanged event arrives within milliseconds
        if gateway.resources.templates.cached(DEFAULT_APPLICATION, slug, "email", "en") is None:
            break
        await asyncio.sleep(0.02)
    assert await sent_subject(gateway, amqp, user, slug) == "v2 Ada"


async def test_with_profile_and_template_cached_a_send_makes_no_grpc_call(
    caching_gateway: Gateway, amqp: AmqpSession
) -> None:
    gateway = caching_gateway
    user, slug = await sent_once(gateway, amqp)
    before = rpcs_served()
    assert await sent_subject(gateway, amqp, user, slug) == "v1 Ada"
    assert rpcs_served() == before


async def test_render_errors_are_the_same_422s_as_template_svc_gave(caching_gateway: Gateway) -> None:
    gateway = caching_gateway
    user = await create_user(gateway.client, locale="en")
    slug = await new_template(gateway, body="{{ order.id }} {{ 1 / zero }}")
    body: dict[str, Any] = {"user_id": user["id"], "channel": "email", "template": slug}
    for _ in range(2):  # the first render compiles on a thread, the second runs inline: the same answer
        missing = await gateway.client.post("/v1/notifications/send", json={**body, "variables": {"name": "A"}})
        assert missing.status_code == 422
        assert missing.json()["errors"] == [
            {"field": "variables.order", "message": "is used by body line 1 but was not given"}
        ]
    failing = await gateway.client.post(
        "/v1/notifications/send", json={**body, "variables": {"name": "A", "order": {"id": 1}, "zero": 0}}
    )
    assert failing.status_code == 422
    assert failing.json()["errors"][0]["field"] == "body"
    assert "division by zero" in failing.json()["errors"][0]["message"]
