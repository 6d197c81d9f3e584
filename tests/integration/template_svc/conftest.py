"""One real template_svc for the package (test database and vhost from the environment), a client stub on
it, a queue that collects the ``TemplateChanged`` events it publishes, and helpers to create templates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aio_pika
import asyncpg
import grpc
import pytest

from common.amqp.topology import EVENTS_EXCHANGE
from common.db import plain_url
from common.grpc.errors import field_violations
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.support.template_service import (
    RunningTemplateService,
    running_template_service,
    template_service_settings,
)

SLUG_PREFIX = "tsvc-test-"
RENDER_TIMEOUT_SECONDS = 0.5
RENDER_THREADS = 2


def new_slug(name: str = "t") -> str:
    """A slug no other test uses, with the prefix this package cleans up."""
    return f"{SLUG_PREFIX}{name}-{uuid.uuid4().hex[:10]}"


async def delete_test_templates(database_url: str) -> None:
    """Remove every template this package created."""
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        await connection.execute("DELETE FROM templates WHERE slug LIKE $1", f"{SLUG_PREFIX}%")
    finally:
        await connection.close()


@pytest.fixture(scope="package")
async def template_service(infra: Infra) -> AsyncIterator[RunningTemplateService]:
    settings = template_service_settings(
        infra, render_timeout_seconds=RENDER_TIMEOUT_SECONDS, render_threads=RENDER_THREADS
    )
    await delete_test_templates(settings.database_url)
    async with running_template_service(settings) as running:
        yield running
    await delete_test_templates(settings.database_url)


@pytest.fixture(scope="package")
async def templates(template_service: RunningTemplateService) -> AsyncIterator[pb_grpc.TemplateServiceStub]:
    async with template_service.stub() as stub:
        yield stub


@pytest.fixture
async def events(amqp: AmqpSession) -> aio_pika.abc.AbstractQueue:
    """An exclusive queue bound to ``notifications.events``: every change event published during the test (it
    goes away with the test's connection)."""
    queue = await amqp.channel.declare_queue(exclusive=True)
    await queue.bind(EVENTS_EXCHANGE)
    return queue


async def template_events_until(
    queue: aio_pika.abc.AbstractQueue, slug: str, timeout: float = 5.0
) -> list[pb.TemplateChanged]:
    """Every ``TemplateChanged`` on ``queue``, up to and including the next one for ``slug``."""
    seen: list[pb.TemplateChanged] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.02)
        elif message.type == "notification.v1.TemplateChanged":
            seen.append(pb.TemplateChanged.FromString(message.body))
            if seen[-1].slug == slug:
                return seen
    raise AssertionError(f"no TemplateChanged for {slug} within {timeout}s")


async def next_template_event(queue: aio_pika.abc.AbstractQueue, slug: str, timeout: float = 5.0) -> pb.TemplateChanged:
    """The next ``TemplateChanged`` for ``slug`` on ``queue`` (events of other slugs are skipped)."""
    return (await template_events_until(queue, slug, timeout))[-1]


async def create_email(templates: pb_grpc.TemplateServiceStub, **fields: Any) -> pb.Template:
    """Create an email template with sensible defaults for the fields not given."""
    values: dict[str, Any] = {
        "slug": new_slug("email"),
        "channel": pb.CHANNEL_EMAIL,
        "locale": "en",
        "subject": "Hello {{ name }}",
        "body": "Hi {{ name }}, welcome.",
    }
    values.update(fields)
    return (await templates.CreateTemplate(pb.CreateTemplateRequest(**values))).template


async def create_push(templates: pb_grpc.TemplateServiceStub, **fields: Any) -> pb.Template:
    """Create a push template with sensible defaults for the fields not given."""
    values: dict[str, Any] = {
        "slug": new_slug("push"),
        "channel": pb.CHANNEL_PUSH,
        "locale": "en",
        "title": "Hi {{ user.name }}",
        "body": "You have {{ count }} new messages",
    }
    values.update(fields)
    return (await templates.CreateTemplate(pb.CreateTemplateRequest(**values))).template


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error a call fails with; fails the test when it succeeds."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The field violations of a failed call, by field."""
    return {violation.field: violation.description for violation in field_violations(error)}
