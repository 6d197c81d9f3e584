"""A real template_svc, in-process, on a free port: for template_svc's own tests and for any test (gateway,
e2e) that needs one. Built by the same ``build_template_service`` as ``python -m template_svc``.

    settings = template_service_settings(infra, render_timeout_seconds=0.3)
    async with running_template_service(settings) as service:
        async with internal_channel(service.target, settings.internal_api_key) as channel: ...
        # or: async with service.stub() as templates: await templates.RenderTemplate(...)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from common.grpc.client import internal_channel
from common.grpc.server import watch_readiness
from devstack.infra import Infra
from notification.v1 import notification_pb2_grpc as pb_grpc
from template_svc.server import TemplateService, build_template_service
from template_svc.settings import TemplateServiceSettings

INTERNAL_KEY = "template-svc-test-key"
READINESS_INTERVAL_SECONDS = 0.2
"""How often a test server re-checks its database for health (2 s in production)."""


def template_service_settings(infra: Infra, **overrides: Any) -> TemplateServiceSettings:
    """Settings on the test database (migrated) and vhost, on a free port; ``overrides`` are field names, e.g.
    ``render_timeout_seconds=0.3`` or ``database_url=...``."""
    values: dict[str, Any] = {
        "database_url": infra.database("TEMPLATE_SVC_DATABASE_URL"),
        "rabbitmq_url": infra.rabbitmq_url,
        "redis_url": infra.redis_url,
        "bind_host": "127.0.0.1",
        "port": 0,
        "internal_api_key": INTERNAL_KEY,
    }
    values.update(overrides)
    return TemplateServiceSettings(**values)


class RunningTemplateService:
    """A started template_svc: its gRPC target, settings and the built service (engine, renderer, health)."""

    def __init__(self, service: TemplateService, settings: TemplateServiceSettings) -> None:
        self.service = service
        self.settings = settings
        self.target = f"127.0.0.1:{service.grpc.port}"

    @contextlib.asynccontextmanager
    async def stub(self) -> AsyncIterator[pb_grpc.TemplateServiceStub]:
        """A TemplateService stub on a channel that sends the internal key."""
        async with internal_channel(self.target, self.settings.internal_api_key) as channel:
            yield pb_grpc.TemplateServiceStub(channel)


@contextlib.asynccontextmanager
async def running_template_service(settings: TemplateServiceSettings) -> AsyncIterator[RunningTemplateService]:
    """Build and start template_svc with ``settings``, keep its health in step with its database, and stop it."""
    service = await build_template_service(settings)
    await service.grpc.server.start()
    watcher = asyncio.create_task(watch_readiness(service.grpc, service.ready, READINESS_INTERVAL_SECONDS))
    try:
        yield RunningTemplateService(service, settings)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await service.close()
