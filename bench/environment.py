"""The bench's own infrastructure and stack: databases ``bench_users``, ``bench_templates`` and
``bench_notifications``, Redis database 7 and the vhost ``notifications_bench``, all reset at the start of a run;
the stack started as ``make up`` starts it (``devstack.stack``: the migrations, then each ``deploy/Procfile``
entry under honcho, on free ports); the users and templates the load uses; and the processes' CPU and memory."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from common.redis_client import redis_client
from devstack.infra import Infra
from devstack.stack import Stack, stack_environment

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASES = {
    "USER_SVC_DATABASE_URL": "bench_users",
    "TEMPLATE_SVC_DATABASE_URL": "bench_templates",
    "NOTIFICATIONS_DATABASE_URL": "bench_notifications",
}
REDIS_URL = "redis://127.0.0.1:6379/7"
VHOST = "notifications_bench"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
API_KEY = "dev-api-key"
TEMPLATE = "bench"

LIMITS_OFF = {
    "RATE_LIMIT_KEY_PER_MINUTE": "0",
    "RATE_LIMIT_USER_PER_MINUTE": "0",
    "EMAIL_WORKER_MAX_PER_SECOND": "0",
    "PUSH_WORKER_MAX_PER_SECOND": "0",
}
"""Rate limits and provider ceilings off: the bench measures the pipeline, not the limiter's refusals."""

SERVICES = (
    "user_svc",
    "template_svc",
    "gateway",
    "email_worker",
    "push_worker",
    "webhook_worker",
    "smtp_sink",
    "fcm_server",
    "webhook_receiver",
)
WORKERS = ("email_worker", "push_worker")

EMAIL_TEMPLATE = {
    "slug": TEMPLATE,
    "channel": "email",
    "locale": "en",
    "subject": "Order {{ order }} has shipped, {{ user.name }}",
    "body": "Hello {{ name }},\n\nyour order {{ order }} is on its way.{% if link %} Track it: {{ link }}{% endif %}\n"
    "This message went to {{ user.email }}.\n",
    "html_body": "<p>Hello {{ name }},</p><p>your order <b>{{ order }}</b> is on its way. "
    '<a href="{{ link }}">Track it</a>.</p>',
}
PUSH_TEMPLATE = {
    "slug": TEMPLATE,
    "channel": "push",
    "locale": "en",
    "title": "Order {{ order }} shipped",
    "body": "{{ name }}, your order is on its way.",
    "data": {"order": "{{ order }}", "link": "{{ link }}"},
}


def infra() -> Infra:
    """The bench's infrastructure in the shape the stack harness takes."""
    return Infra(
        database_urls={variable: f"{POSTGRES}/{name}" for variable, name in DATABASES.items()},
        redis_url=REDIS_URL,
        rabbitmq_url=RABBITMQ_URL,
    )


async def reset_infrastructure() -> None:
    """Drop the bench databases (the stack's migrations create them again), empty Redis database 7, and make
    the vhost anew (so no queue keeps messages of an earlier run)."""
    connection = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        for name in DATABASES.values():
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
    redis = redis_client(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    await asyncio.to_thread(
        subprocess.run, ["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, check=False
    )
    await asyncio.to_thread(
        subprocess.run, ["bash", str(ROOT / "devstack/infra.sh"), "test-vhost", VHOST], capture_output=True, check=True
    )


def bench_stack(folder: Path, overrides: dict[str, str]) -> Stack:
    """The stack on the bench infrastructure, with the limits off and ``overrides`` on top."""
    environment = stack_environment(infra(), folder, overrides={**LIMITS_OFF, **overrides})
    return Stack(environment, folder)


# --- users and templates -----------------------------------------------------------------------------------


async def create_templates(http: httpx.AsyncClient) -> None:
    """The email and push templates the load renders."""
    for template in (EMAIL_TEMPLATE, PUSH_TEMPLATE):
        response = await http.post("/v1/templates", json=template)
        if response.status_code != 201:
            raise RuntimeError(
                f"creating template {template['channel']} failed: {response.status_code} {response.text}"
            )


async def create_users(http: httpx.AsyncClient, count: int, concurrency: int = 16) -> list[str]:
    """``count`` users, each with an email address and one push device; their ids."""
    ids: list[str] = [""] * count
    indexes = iter(range(count))

    async def worker() -> None:
        for index in indexes:
            response = await http.post(
                "/v1/users",
                json={"name": f"Reader {index}", "email": f"reader{index}@bench.example.com", "password": "bench-pass"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"creating user {index} failed: {response.status_code} {response.text}")
            user_id = response.json()["id"]
            response = await http.post(
                f"/v1/users/{user_id}/devices", json={"token": f"bench-device-{index}", "platform": "android"}
            )
            if response.status_code != 201:
                raise RuntimeError(f"adding a device failed: {response.status_code} {response.text}")
            ids[index] = user_id

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


def gateway_client(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.url("gateway"), headers={"X-API-Key": API_KEY}, timeout=30)


# --- processes ---------------------------------------------------------------------------------------------

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    """Every live process in process group ``pgid`` (a service and its children, e.g. uvicorn's workers)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


def python_pids(pgid: int) -> list[int]:
    """The Python processes of a group (not the shell honcho runs them through)."""
    pids = []
    for pid in group_pids(pgid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if b"python" in command:
            pids.append(pid)
    return pids


@dataclass(frozen=True)
class Usage:
    """CPU seconds (user + system, children that exited included) and resident bytes of a set of processes."""

    cpu_seconds: float
    rss_bytes: int


def usage(pids: list[int]) -> Usage:
    cpu = 0.0
    rss = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        rss += int(fields[21]) * PAGE_SIZE
    return Usage(cpu, rss)


def service_groups(stack: Stack) -> dict[str, int]:
    """The process group of each running service instance."""
    groups = {}
    for instance, process in stack.processes.items():
        pid = process.service_pid() if process.running else None
        if pid is not None:
            groups[instance] = pid
    return groups


def load_average() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def own_cpu_seconds() -> float:
    """This process's CPU seconds (the bench driver's share of the box)."""
    times = os.times()
    return times.user + times.system


def summary_of(value: Any) -> Any:
    """Round floats for the JSON report."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: summary_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [summary_of(item) for item in value]
    return value
