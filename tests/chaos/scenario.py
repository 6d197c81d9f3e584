"""What every scenario does around the one thing it breaks: start the load, look at the services' readiness and
metrics while it is broken, and check the counts afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.chaos.ledger import Tally
from tests.chaos.load import LoadProcess, LoadResult
from tests.support.stack import Stack, free_port

COUNT = 300
RATE = 30.0
"""A few hundred sends at 30 a second: ten seconds of load, broken in the middle."""
UNDER_WAY = 45
"""Accepted sends after which the load counts as under way and the scenario breaks something."""
RECOVERY_SECONDS = 45.0


async def start_second_instances(stack: Stack) -> list[str]:
    """Start a second gateway, user_svc and template_svc on free ports without waiting for them (they are
    started while a dependency is down); their instance names."""
    extra = {
        "gateway_2": ("gateway", {"GATEWAY_PORT": str(free_port())}),
        "user_svc_2": ("user_svc", {"USER_SVC_PORT": str(free_port()), "USER_SVC_METRICS_PORT": str(free_port())}),
        "template_svc_2": (
            "template_svc",
            {"TEMPLATE_SVC_PORT": str(free_port()), "TEMPLATE_SVC_METRICS_PORT": str(free_port())},
        ),
    }
    for instance, (name, environment) in extra.items():
        await stack.start_service(name, instance=instance, environment=environment, wait=False)
    return list(extra)


async def start_load(
    stack: Stack, targets: list[dict[str, str]], folder: Path, *, count: int = COUNT, rate: float = RATE
) -> LoadProcess:
    """The load driver against the stack's gateway, once it has had ``UNDER_WAY`` sends accepted."""
    load = await LoadProcess.start(stack.url("gateway"), targets, folder / "load", count=count, rate=rate)
    await load.wait_accepted(UNDER_WAY)
    return load


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = RECOVERY_SECONDS) -> float:
    """Wait until ``check()`` is true; returns how long it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def log_says(stack: Stack, instance: str, text: str, timeout: float = 30.0) -> None:
    """Wait until ``instance``'s log contains ``text``; fails if it exits first."""
    process = stack.processes[instance]

    async def said() -> bool:
        assert process.running, f"{instance} exited:\n{process.tail()}"
        return text in process.log.read_text(errors="replace")

    await eventually(said, f"{instance} saying {text!r}", timeout)


async def readiness(url: str) -> tuple[int, dict[str, object]]:
    """``GET {url}/ready``: the status and the body (status 0 when nothing answers)."""
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            response = await http.get(f"{url}/ready")
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, dict(response.json())


async def all_ready(stack: Stack, timeout: float = RECOVERY_SECONDS) -> float:
    """Wait until every running instance answers its readiness probe; returns how long it took."""
    started = time.monotonic()
    for instance, process in stack.processes.items():
        if process.running:
            await stack.wait_ready(instance, timeout)
    return time.monotonic() - started


async def metric(url: str, name: str, **labels: str) -> float:
    """One sample of a service's ``/metrics`` (0 when absent)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return float(sample.value)
    return 0.0


def assert_accounted(load: LoadResult, tally: Tally, *, max_duplicates: int = 0) -> None:
    """Nothing lost, every refusal clean, every send accepted in the end, at most ``max_duplicates`` copies."""
    assert not tally.lost, f"lost: {tally.notes}"
    assert not load.unclean_refusals(), load.unclean_refusals()[:5]
    assert not load.unanswered(), load.unanswered()[:5]
    assert set(tally.five_xx) <= {503}, tally.five_xx
    assert tally.duplicate_count <= max_duplicates, tally.duplicates
