"""A private three-node RabbitMQ cluster on loopback, for the failover tests (docs/operations.md "A RabbitMQ
cluster").

Each node is a :class:`~devstack.private_infra.PrivateRabbitMQ` of its own (node name ``rmq<pid><a|b|c>@localhost``,
AMQP and distribution ports picked free, data and logs under ``<tmp>/notification-rabbitmq-cluster/<owner pid>/``)
with one shared Erlang cookie, ``+S 1:1`` and no busy-waiting schedulers so three nodes fit two cores, and
``queue_leader_locator = balanced`` so quorum queues declared over it get their leaders spread. The second and
third node join the first with ``rabbitmqctl join_cluster``. The shared broker on 5672 is never touched.

Nothing outlives the run: :func:`rabbitmq_cluster` stops the nodes on exit and an ``atexit`` hook does it when
the interpreter ends; a later run stops the nodes of folders whose owner process is gone (only the processes
their pid files name).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from devstack.private_infra import RABBITMQ_BIN, InfraError, PrivateRabbitMQ, _pid_alive
from devstack.stack import free_ports

BASE = Path(tempfile.gettempdir()) / "notification-rabbitmq-cluster"
LETTERS = "abc"
ERL_ARGS = "+S 1:1 +A 4 +sbwt none +sbwtdcpu none +sbwtdio none"
"""One scheduler per node, few async threads, and no busy waiting: three nodes share two cores."""
NODE_CONF = "queue_leader_locator = balanced\nvm_memory_high_watermark.absolute = 256MiB\n"


@dataclass
class RabbitMQCluster:
    """Three joined nodes; :attr:`urls` is what ``RABBITMQ_URLS`` takes."""

    folder: Path
    nodes: list[PrivateRabbitMQ]
    started_seconds: float = 0.0
    """How long starting and joining took."""

    @classmethod
    def plan(cls, folder: Path) -> RabbitMQCluster:
        ports = free_ports(2 * len(LETTERS))
        cookie = secrets.token_hex(16).upper()
        nodes = [
            PrivateRabbitMQ(
                folder / letter,
                ports[2 * index],
                ports[2 * index + 1],
                f"rmq{os.getpid()}{letter}@localhost",
                cookie=cookie,
                erl_args=ERL_ARGS,
                extra_conf=NODE_CONF,
            )
            for index, letter in enumerate(LETTERS)
        ]
        return cls(folder, nodes)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> PrivateRabbitMQ:
        """The node called ``name`` (``rmq…a@localhost``)."""
        return next(node for node in self.nodes if node.node == name)

    def start(self) -> None:
        """Start the three nodes side by side, then join the second and third to the first."""
        started = time.monotonic()
        self.folder.mkdir(parents=True, exist_ok=True)
        for node in self.nodes:
            node.create()
        (self.folder / "state.json").write_text(
            json.dumps(
                [{"folder": str(n.folder), "port": n.port, "dist": n.dist_port, "node": n.node} for n in self.nodes]
            )
        )
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(PrivateRabbitMQ.start, self.nodes))
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.start_app()
        running = self.running_nodes()
        if sorted(running) != sorted(node.node for node in self.nodes):
            raise InfraError(f"the cluster runs {running}, not all three nodes")
        self.started_seconds = time.monotonic() - started

    def running_nodes(self) -> list[str]:
        """The nodes the cluster says are running (asked of any node that answers)."""
        for node in self.nodes:
            with contextlib.suppress(InfraError):
                status = json.loads(node.ctl("cluster_status", "--formatter", "json"))
                return list(status["running_nodes"])
        raise InfraError("no node of the cluster answers")

    def leaders(self, vhost: str = "/") -> dict[str, str]:
        """queue → the node leading it now, for every queue of ``vhost`` (asked of any node that answers)."""
        for node in self.nodes:
            with contextlib.suppress(InfraError):
                listing = json.loads(node.ctl("list_queues", "-p", vhost, "name", "leader", "--formatter", "json"))
                return {str(row["name"]): str(row["leader"]) for row in listing}
        raise InfraError("no node of the cluster answers")

    def urls_from(self, name: str) -> list[str]:
        """:attr:`urls` starting with node ``name``'s (the node every client then connects to first)."""
        first = self.nodes.index(self.node(name))
        return self.urls[first:] + self.urls[:first]

    def stop(self) -> None:
        teardown(self.folder)


def teardown(folder: Path) -> None:
    """Stop the nodes ``folder``'s state file names (only processes their pid files name), then delete it."""
    state_file = folder / "state.json"
    if state_file.exists():
        for saved in json.loads(state_file.read_text()):
            PrivateRabbitMQ(Path(saved["folder"]), saved["port"], saved["dist"], saved["node"]).stop()
    shutil.rmtree(folder, ignore_errors=True)


def clear_abandoned() -> None:
    """Tear down the clusters of earlier runs whose owner process is gone."""
    if BASE.exists():
        for folder in BASE.iterdir():
            if folder.is_dir() and re.fullmatch(r"\d+", folder.name) and not _pid_alive(int(folder.name)):
                teardown(folder)


def installed() -> bool:
    """Whether the Debian ``rabbitmq-server`` package is here to run nodes from."""
    return (RABBITMQ_BIN / "rabbitmq-server").exists() and shutil.which("erl") is not None


@contextlib.contextmanager
def rabbitmq_cluster() -> Iterator[RabbitMQCluster]:
    """Start the three-node cluster, yield it, stop it (also at interpreter exit)."""
    clear_abandoned()
    folder = BASE / str(os.getpid())
    teardown(folder)
    cluster = RabbitMQCluster.plan(folder)
    atexit.register(teardown, folder)
    try:
        cluster.start()
        yield cluster
    finally:
        teardown(folder)
        atexit.unregister(teardown)


__all__ = ["RabbitMQCluster", "installed", "rabbitmq_cluster"]
