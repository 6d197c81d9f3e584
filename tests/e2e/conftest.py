"""The end-to-end suite: one stack for the package (started as ``make up`` starts it, on free ports and the test
infrastructure), reached only through REST and the dev sinks' HTTP listings. A failing test carries the end of
every service's log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.infra import Infra
from devstack.stack import Stack, running_stack
from tests.e2e.api import Api, Mailbox, PushServer, gateway_client
from tests.e2e.webhooks import Receiver, Webhooks

STACKS_KEY = pytest.StashKey[list[Stack]]()
FEW_ATTEMPTS = {"EMAIL_WORKER_MAX_ATTEMPTS": "3", "PUSH_WORKER_MAX_ATTEMPTS": "3"}
"""Three attempts: with the test retry scale, a failure is given up within half a second."""
WEBHOOK_TIMINGS = {
    "WEBHOOK_RETRY_SCHEDULE": "0.05,0.1,0.1,0.2,0.2,0.2,0.3,0.3,0.3",
    "WEBHOOK_DISABLE_AFTER_SECONDS": "8",
    "WEBHOOK_WORKER_MAINTENANCE_SECONDS": "0.5",
    "WEBHOOK_WORKER_BREAKER_PAUSE_SECONDS": "0.2",
}
"""The webhook ladder scaled down (nine retries within two seconds instead of a day), an endpoint disabled after
8 s of failures instead of 3 days (longer than the ladder with its breaker pauses, so a delivery can end
``failed`` before its endpoint is disabled), looked for every 0.5 s instead of 30 s, and an open breaker paused
0.2 s instead of 30 s (docs/design.md §7 "Events out")."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    stacks = item.session.stash.get(STACKS_KEY, [])
    if report.failed and stacks:  # type: ignore[attr-defined]
        for stack in stacks:
            report.sections.append((f"stack logs ({stack.folder.name})", stack.log_tails()))  # type: ignore[attr-defined]
    return report


@asynccontextmanager
async def tracked_stack(
    request: pytest.FixtureRequest, infra: Infra, folder: Path, **options: Any
) -> AsyncIterator[Stack]:
    """:func:`running_stack` with every queue of its vhost purged first, and its logs in failure reports."""
    async with infra.amqp_session(options.get("queue_type", "quorum")):
        pass
    async with running_stack(infra, folder, **options) as running:
        stacks = request.session.stash.setdefault(STACKS_KEY, [])
        stacks.append(running)
        try:
            yield running
        finally:
            stacks.remove(running)


@pytest.fixture(scope="package")
async def stack(
    request: pytest.FixtureRequest, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The whole stack on the quorum queues of the test vhost (every queue purged first). Package-scoped: it
    must be gone before other suites run, whose own workers would otherwise compete with its consumers."""
    async with tracked_stack(
        request, infra, tmp_path_factory.mktemp("stack"), environment=FEW_ATTEMPTS | WEBHOOK_TIMINGS
    ) as running:
        yield running


@pytest.fixture(scope="package")
async def api(stack: Stack) -> AsyncIterator[Api]:
    async with gateway_client(stack.url("gateway")) as http:
        yield Api(http)


@pytest.fixture(scope="package")
async def mailbox(stack: Stack) -> AsyncIterator[Mailbox]:
    async with httpx.AsyncClient(base_url=stack.url("smtp_sink"), timeout=30) as http:
        yield Mailbox(http)


@pytest.fixture(scope="package")
async def push_server(stack: Stack) -> AsyncIterator[PushServer]:
    async with httpx.AsyncClient(base_url=stack.url("fcm_server"), timeout=30) as http:
        yield PushServer(http)


@pytest.fixture(scope="package")
async def receiver(stack: Stack) -> AsyncIterator[Receiver]:
    async with httpx.AsyncClient(base_url=stack.url("webhook_receiver"), timeout=30) as http:
        yield Receiver(http)


@pytest.fixture(scope="package")
def webhooks(api: Api) -> Webhooks:
    return Webhooks(api.http)
