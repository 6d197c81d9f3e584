"""The chaos suite: the whole stack (as ``make up`` runs it) on PRIVATE PostgreSQL, Redis and RabbitMQ servers
(``devstack/private_infra.py``), which the scenarios stop and restart; the shared servers are never
touched. One stack serves the package; each scenario runs a load driver in a second process, breaks one thing,
repairs it, and counts (``ledger.py``). A failing test carries the end of every service's log; the results
table is printed at the end of the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.infra import Infra
from devstack.private_infra import PrivateInfra, private_infra
from devstack.stack import Stack
from tests.chaos.ledger import RESULTS, results_table
from tests.chaos.scenario import Chaos
from tests.e2e.api import Api, Mailbox, PushServer, unique
from tests.e2e.conftest import api, mailbox, push_server, pytest_runtest_makereport, tracked_stack

__all__ = ["api", "chaos", "mailbox", "push_server", "pytest_runtest_makereport"]
"""The e2e clients, bound to this package's stack, and the e2e hook that adds the stack's logs to a failure."""

USERS = 60
CHAOS_SETTINGS = {
    "EMAIL_WORKER_BREAKER_PAUSE_SECONDS": "2",
    "PUSH_WORKER_BREAKER_PAUSE_SECONDS": "2",
    "EMAIL_WORKER_MAX_ATTEMPTS": "10",
    "PUSH_WORKER_MAX_ATTEMPTS": "10",
    "EMAIL_WORKER_SMTP_TIMEOUT_SECONDS": "5",
    "EMAIL_WORKER_PROVIDER_TIMEOUT_SECONDS": "5",
    "PUSH_WORKER_PROVIDER_TIMEOUT_SECONDS": "5",
    "WEBHOOK_RETRY_SCHEDULE": "1,2,4,8,15,20,20,20,20",
    "WEBHOOK_WORKER_BREAKER_PAUSE_SECONDS": "2",
    "WEBHOOK_WORKER_LEASE_SECONDS": "25",
}
"""The runtime's own knobs, shortened: an open breaker pauses 2 s (30 s in production), with the test retry
scale (1/100) ten attempts span ~25 s, so an outage of a few seconds ends in deliveries, not in given-up sends,
a killed worker's claims lapse after 10 s (60 s in production); the webhook ladder spans ~110 s, longer than
scenario 7's 30 s receiver outage, and a killed webhook_worker's leases lapse after 25 s (60 s in production)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.chaos)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.write_sep("=", "chaos results")
    terminalreporter.write_line(results_table())
    for tally in RESULTS:
        for note in tally.notes:
            terminalreporter.write_line(f"{tally.scenario}: {note}")
    destination = os.environ.get("CHAOS_RESULTS_FILE")
    if destination:
        Path(destination).write_text(results_table() + "\n")


@pytest.fixture(scope="package")
def private() -> Iterator[PrivateInfra]:
    """This run's own PostgreSQL, Redis and RabbitMQ, stopped at the end."""
    with private_infra() as servers:
        yield servers


@pytest.fixture(scope="package")
def chaos_infra(private: PrivateInfra) -> Infra:
    return private.infra()


@pytest.fixture(scope="package")
async def stack(
    request: pytest.FixtureRequest, chaos_infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with tracked_stack(
        request, chaos_infra, tmp_path_factory.mktemp("chaos-stack"), environment=CHAOS_SETTINGS
    ) as running:
        yield running


@pytest.fixture(scope="package")
async def templates(api: Api) -> str:
    """One slug with an email and a push template."""
    slug = unique("chaos")
    await api.create_template(slug=slug, channel="email", subject="chaos #{{ n }}", body="message {{ n }}")
    await api.create_template(slug=slug, channel="push", title="chaos #{{ n }}", body="message {{ n }}")
    return slug


@pytest.fixture(scope="package")
async def audience(api: Api, templates: str) -> list[dict[str, str]]:
    """The load's targets: :data:`USERS` users, each with an address and a device, every one an email target
    and every other one a push target too (distinct users keep each under the per-user rate limit)."""
    targets = []
    for index in range(USERS):
        user = await api.create_user(name=f"Chaos {index}")
        await api.add_device(user["id"], unique("device"))
        targets.append({"user_id": user["id"], "channel": "email", "template": templates})
        if index % 2 == 0:
            targets.append({"user_id": user["id"], "channel": "push", "template": templates})
    return targets


@pytest.fixture
def chaos(
    stack: Stack, api: Api, mailbox: Mailbox, push_server: PushServer, audience: list[dict[str, str]], tmp_path: Path
) -> Chaos:
    """Everything a scenario works with, in one."""
    return Chaos(stack, api, mailbox, push_server, audience, tmp_path)
