"""template_svc as a service: grpcurl through reflection, the internal key, a database that is down, and
``python -m template_svc`` serving health and metrics until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text

from common.db import plain_url
from devstack.infra import Infra
from devstack.stack import free_port
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.template_svc.conftest import create_email, create_push, rpc_error
from tests.support.template_service import (
    RunningTemplateService,
    running_template_service,
    template_service_settings,
)

GRPCURL = str(Path(sys.executable).with_name("grpcurl"))
CLOSED_PORT_DATABASE = "postgresql://postgres@127.0.0.1:1/templates"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def grpcurl(
    service: RunningTemplateService, *args: str, data: object = None, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run grpcurl against the service with the internal key (``key=""``: none) and ``data`` as ``-d`` JSON."""
    key = service.settings.internal_api_key if key is None else key
    options = ["-H", f"x-internal-api-key: {key}"] if key else []
    if data is not None:
        options += ["-d", json.dumps(data)]
    return subprocess.run(
        [GRPCURL, "-plaintext", *options, service.target, *args], capture_output=True, text=True, timeout=30
    )


async def test_grpcurl_renders_a_template(
    templates: pb_grpc.TemplateServiceStub, template_service: RunningTemplateService
) -> None:
    created = await create_push(templates, locale="pt-BR", title="Olá {{ user.name }}", data={"n": "{{ count }}"})
    request = {
        "slug": created.slug,
        "channel": "CHANNEL_PUSH",
        "locale": "pt-BR",
        "variables": {"count": 3},
        "user": {"name": "Ada"},
    }

    done = await asyncio.to_thread(
        lambda: grpcurl(template_service, "notification.v1.TemplateService/RenderTemplate", data=request)
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "push": {"title": "Olá Ada", "body": "You have 3 new messages", "data": {"n": "3"}},
        "locale": "pt-BR",
        "version": 1,
        "category": "transactional",
        "transactional": True,
    }


async def test_grpcurl_describes_the_service_and_needs_the_key(template_service: RunningTemplateService) -> None:
    described = await asyncio.to_thread(grpcurl, template_service, "describe", "notification.v1.TemplateService")
    assert "Renders a template with variables in the sandbox" in described.stdout.split("rpc RenderTemplate")[0]

    refused = await asyncio.to_thread(lambda: grpcurl(template_service, "list", key=""))
    assert refused.returncode != 0
    assert "Unauthenticated" in refused.stderr


async def test_a_database_that_is_down_is_unavailable_and_not_serving(infra: Infra) -> None:
    settings = template_service_settings(infra, database_url=CLOSED_PORT_DATABASE)
    async with running_template_service(settings) as broken, broken.stub() as stub:
        key = {"slug": "welcome", "channel": pb.CHANNEL_EMAIL, "locale": "en"}
        for call in (
            stub.GetTemplate(pb.GetTemplateRequest(**key)),
            stub.RenderTemplate(pb.RenderTemplateRequest(**key)),
            create_email(stub, slug="welcome"),
        ):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert "retry later" in (error.details() or "")
        assert await health_status(broken.target, "notification.v1.TemplateService") == NOT_SERVING


async def test_connections_the_database_dropped_cost_callers_nothing(
    templates: pb_grpc.TemplateServiceStub, template_service: RunningTemplateService
) -> None:
    """The engine skips the pre-ping on the hot path: a dead pooled connection fails one attempt as
    UNAVAILABLE, the pool is invalidated, and the client's retry gets a fresh connection."""
    created = await create_email(templates)
    engine = template_service.service.engine

    async def backend_pid() -> int:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.sleep(0.05)  # hold it, so the others open connections of their own
            return int(pid)

    pids = set(await asyncio.gather(*(backend_pid() for _ in range(engine.pool.size()))))  # type: ignore[attr-defined]
    connection = await asyncpg.connect(plain_url(template_service.settings.database_url))
    try:
        await connection.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
    finally:
        await connection.close()

    for _ in range(3):
        request = pb.RenderTemplateRequest(slug=created.slug, channel=pb.CHANNEL_EMAIL)
        request.variables.update({"name": "Ada"})
        assert (await templates.RenderTemplate(request)).email.subject == "Hello Ada"


async def health_status(target: str, service: str = "", timeout: float = 5.0) -> int:
    """The service's health once the readiness watcher has reported it (waiting up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                return int((await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)).status)
            except grpc.aio.AioRpcError as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{target} reported no health within {timeout}s") from error
            await asyncio.sleep(0.1)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local http URL
        return str(response.read().decode())


async def test_python_m_template_svc_serves_health_and_metrics_until_sigterm(infra: Infra) -> None:
    port, metrics_port = free_port(), free_port()
    environment = {
        **os.environ,
        "TEMPLATE_SVC_DATABASE_URL": infra.database("TEMPLATE_SVC_DATABASE_URL"),
        "TEMPLATE_SVC_PORT": str(port),
        "TEMPLATE_SVC_METRICS_PORT": str(metrics_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "template_svc", env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert await health_status(f"127.0.0.1:{port}", timeout=30) == SERVING
        metrics = await asyncio.to_thread(fetch, f"http://127.0.0.1:{metrics_port}/metrics")
        assert "template_render_seconds" in metrics
        assert "template_compile_cache_total" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 0, stderr.decode()[-2000:]
