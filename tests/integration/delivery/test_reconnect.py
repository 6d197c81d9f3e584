"""The runtime's broker connection is robust: when the broker drops it, the worker reconnects, resumes
consuming and loses nothing. The connection is closed the way a broker restart closes it (CONNECTION_FORCED),
through ``rabbitmqctl`` on this machine; skipped where there is none."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from devstack.infra import Infra
from tests.integration.delivery.support import Gateway, email_envelope, eventually, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink

pytestmark = pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl on this machine")


async def rabbitmqctl(*arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *arguments, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        pytest.skip(f"rabbitmqctl is not usable here: {err.decode()[:200]}")
    return out.decode()


async def close_connection(vhost: str, name: str) -> None:
    listing = await rabbitmqctl("list_connections", "-q", "--no-table-headers", "-p", vhost, "pid", "client_properties")
    pids = [line.split("\t")[0] for line in listing.splitlines() if f'"{name}"' in line]
    assert pids, f"no connection named {name}"
    for pid in pids:
        await rabbitmqctl("close_connection", pid, "test: broker went away")


async def test_the_worker_reconnects_after_the_broker_drops_it(
    gateway: Gateway, sink: RunningSmtpSink, infra: Infra
) -> None:
    vhost = infra.rabbitmq_url.rsplit("/", 1)[1] or "/"
    settings = worker_settings(sink)
    before = [email_envelope(f"before-{n}@example.com") for n in range(5)]
    after = [email_envelope(f"after-{n}@example.com") for n in range(5)]
    async with running_worker(settings) as runtime:
        for envelope in before:
            await gateway.send(envelope)
        for envelope in before:
            await gateway.wait_for_status(envelope.notification_id, "delivered")
        await close_connection(vhost, "email_worker-test")
        for envelope in after:
            await gateway.send(envelope)
        for envelope in after:
            await gateway.wait_for_status(envelope.notification_id, "delivered", timeout=20)
        await eventually(runtime.readiness, lambda checks: all(checks.values()))
    assert len(await sink.messages()) == 10
