"""What every scenario does around the one thing it breaks: start the load, look at the services' readiness and
metrics while it is broken, and check the counts afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devstack.stack import Stack, free_port
from tests.chaos.ledger import Tally, tally
from tests.chaos.load import LoadProcess, LoadResult
from tests.e2e.api import Api, Mailbox, PushServer

COUNT = 300
RATE = 30.0
"""A few hundred sends at 30 a second: ten seconds of load, broken in the middle."""
UNDER_WAY = 45
"""Accepted sends after which the load counts as under way and the scenario breaks something."""
RECOVERY_SECONDS = 45.0


@dataclass
class Chaos:
    """What a scenario works with: the stack, the clients of its API and sinks, the load's targets, and a folder
    of the test's own."""

    stack: Stack
    api: Api
    mailbox: Mailbox
    push_server: PushServer
    audience: list[dict[str, str]]
    folder: Path

    async def start_load(self) -> LoadProcess:
        """The load driver against the gateway, once it is under way (:func:`start_load`)."""
        return await start_load(self.stack, self.audience, self.folder)

    async def tally(self, scenario: str, result: LoadResult, accepted: dict[str, str] | None = None) -> Tally:
        """Count what became of the load's accepted sends (and of ``accepted``, when given, instead)."""
        return await tally(
            scenario,
            self.api,
            self.mailbox,
            self.push_server,
            result.accepted if accepted is None else accepted,
            result,
        )


@dataclass
class Outage:
    """A dependency stopped under load and started again: the load's result, its tally, and when it was down."""

    result: LoadResult
    counted: Tally
    down: float
    up: float

    def assert_clean(self) -> None:
        """Nothing lost or duplicated, and the sends made while it was down were refused with 503."""
        assert_accounted(self.result, self.counted)
        refused = self.result.refused_between(self.down, self.up)
        assert refused[503] > 0, refused


async def restarted_under_load(
    chaos: Chaos,
    scenario: str,
    stop: Callable[[], None],
    start: Callable[[], None],
    seconds: float,
    while_down: Callable[[], Awaitable[None]] | None = None,
) -> Outage:
    """Start the load, ``stop`` a dependency (run in a thread), run ``while_down``, wait until ``seconds`` after
    the stop, ``start`` it again (always), wait for every service to be ready, and count."""
    load = await chaos.start_load()
    down = time.monotonic()
    await asyncio.to_thread(stop)
    try:
        if while_down is not None:
            await while_down()
        await asyncio.sleep(max(0.0, down + seconds - time.monotonic()))
    finally:
        await asyncio.to_thread(start)
    up = time.monotonic()
    recovered = await all_ready(chaos.stack)
    result = await load.finish()
    counted = await chaos.tally(scenario, result)
    counted.notes.append(f"down {up - down:.1f}s; every service ready {recovered:.1f}s after the start")
    return Outage(result, counted, down, up)


async def second_instances_wait_while_down(
    stack: Stack, stop: Callable[[], None], start: Callable[[], None], waiting: dict[str, str]
) -> None:
    """With a dependency stopped, start a second gateway, user_svc and template_svc: each instance in
    ``waiting`` logs its text, none exits; once the dependency is started again, all become ready."""
    await asyncio.to_thread(stop)
    extra: list[str] = []
    try:
        extra = await start_second_instances(stack)
        for instance, text in waiting.items():
            await log_says(stack, instance, text)
        await asyncio.sleep(2)
        for instance in extra:
            assert stack.processes[instance].running, f"{instance} exited while the dependency was down"
    finally:
        await asyncio.to_thread(start)
    try:
        for instance in extra:
            await stack.wait_ready(instance, timeout=30)
    finally:
        for instance in extra:
            await stack.stop_service(instance)
    await all_ready(stack)


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
