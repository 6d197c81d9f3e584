"""``python -m user_svc`` as an operator runs it: serves gRPC and /metrics on the configured ports, reports
SERVING, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import urllib.request

from grpc_health.v1 import health_pb2

from devstack.infra import Infra
from devstack.stack import free_port
from tests.integration.user_svc.test_service import health_status


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local http URL
        return response.read().decode()


async def test_python_m_user_svc_serves_until_sigterm(infra: Infra) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "USER_SVC_DATABASE_URL": infra.database("USER_SVC_DATABASE_URL"),
        "USER_SVC_PORT": str(grpc_port),
        "USER_SVC_METRICS_PORT": str(metrics_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "user_svc", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        target = f"127.0.0.1:{grpc_port}"
        for _ in range(100):
            try:
                if await health_status(target) == health_pb2.HealthCheckResponse.SERVING:
                    break
            except Exception:  # noqa: S110 - not listening yet
                pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("user_svc did not report SERVING within 10s")
        metrics = await asyncio.to_thread(fetch, f"http://127.0.0.1:{metrics_port}/metrics")
        assert "user_svc_profile_cache_reads_total" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 0, stderr.decode()[-2000:]
