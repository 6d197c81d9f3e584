"""The RabbitMQ cluster suite: a private three-node cluster (``devstack/rabbitmq_cluster.py``, ~40 s to start on
two cores), started once for this package; the shared broker on 5672 is never touched. The whole stack runs on
the cluster (``RABBITMQ_URLS``) with the test databases and Redis, and a scenario stops the node leading
``email.queue`` under load."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.amqp.topology import work_queue
from devstack.infra import Infra
from devstack.rabbitmq_cluster import RabbitMQCluster, installed, rabbitmq_cluster
from devstack.stack import Stack
from tests.chaos import conftest as chaos_conftest
from tests.chaos.conftest import CHAOS_SETTINGS, audience, templates
from tests.chaos.scenario import Chaos
from tests.e2e.api import Api, Mailbox, PushServer
from tests.e2e.conftest import api, mailbox, push_server, pytest_runtest_makereport, tracked_stack

__all__ = ["api", "audience", "mailbox", "push_server", "pytest_runtest_makereport", "templates"]
"""The chaos suite's clients and targets, bound to this package's stack."""

logger = logging.getLogger(__name__)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.cluster)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The chaos results table with this package's rows, unless the chaos suite (also collected) prints it."""
    if not config.pluginmanager.is_registered(chaos_conftest):
        chaos_conftest.pytest_terminal_summary(terminalreporter)


@pytest.fixture(scope="package")
def cluster() -> Iterator[RabbitMQCluster]:
    """Three joined RabbitMQ nodes on loopback, started once for this package and stopped when it is done (not
    held for the rest of ``make test``: three idle nodes still cost CPU)."""
    if not installed():
        pytest.fail("the cluster tests need the Debian rabbitmq-server package (/usr/lib/rabbitmq/bin)")
    with rabbitmq_cluster() as started:
        logger.warning("the RabbitMQ cluster started in %.1fs", started.started_seconds)
        yield started


@pytest.fixture(scope="package")
def cluster_infra(infra: Infra, cluster: RabbitMQCluster) -> Infra:
    """The test databases and Redis, with the cluster's first node as the one-node URL."""
    return dataclasses.replace(infra, rabbitmq_url=cluster.urls[0], _migrated=set())


@pytest.fixture(scope="package")
async def stack(
    request: pytest.FixtureRequest,
    cluster_infra: Infra,
    cluster: RabbitMQCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """The whole stack with ``RABBITMQ_URLS`` naming the three nodes, the topology declared over the cluster
    first and the node leading ``email.queue`` listed first: every service connects to it, so stopping it moves
    both the queue's leadership and every connection."""
    async with cluster_infra.amqp_session():
        pass
    leader = cluster.leaders()[work_queue("email")]
    environment = CHAOS_SETTINGS | {"RABBITMQ_URLS": ",".join(cluster.urls_from(leader))}
    async with tracked_stack(
        request, cluster_infra, tmp_path_factory.mktemp("cluster-stack"), environment=environment
    ) as running:
        yield running


@pytest.fixture
def chaos(
    stack: Stack, api: Api, mailbox: Mailbox, push_server: PushServer, audience: list[dict[str, str]], tmp_path: Path
) -> Chaos:
    return Chaos(stack, api, mailbox, push_server, audience, tmp_path)
