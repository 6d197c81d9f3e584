"""A private Redis Cluster of three masters on loopback, for the tests that show the services run on one
(docs/operations.md, "Redis Cluster"). The shared Redis on 6379 is never touched.

Each node is ``redis-server --cluster-enabled yes`` on a free port, with a free cluster-bus port and a folder
of its own for its ``nodes.conf``, keeping nothing on disk (``--save "" --appendonly no``, like dev and CI).
``redis-cli --cluster create --cluster-replicas 0`` splits the 16384 hash slots over the three, and the cluster
is ready once every node reports ``cluster_state:ok``. The nodes run in the foreground as children of the
process that started them, under ``setpriv --pdeathsig KILL``: should that process die without stopping them
(SIGKILL), the kernel ends them as well, so no run leaves a cluster behind.

    with running_redis_cluster(folder) as cluster:
        cluster.url                                  # redis+cluster://127.0.0.1:<port>/0
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from devstack.private_infra import InfraError, _wait
from devstack.stack import HOST, free_ports

MASTERS = 3
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class RedisClusterNodes:
    """The nodes of one private cluster: their ports, folders and processes."""

    folder: Path
    ports: list[int]
    bus_ports: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The cluster URL the services take (``REDIS_URL``): one node, from which the client learns the rest."""
        return f"redis+cluster://{HOST}:{self.ports[0]}/0"

    def node_folder(self, port: int) -> Path:
        return self.folder / f"node-{port}"

    def start(self) -> None:
        """Start the nodes, join them into one cluster and wait until it serves every slot."""
        for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
            folder = self.node_folder(port)
            folder.mkdir(parents=True, exist_ok=True)
            log = (folder / "redis.log").open("ab")
            self.processes.append(
                subprocess.Popen(
                    ["setpriv", "--pdeathsig", "KILL", "--", "redis-server", *_node_options(port, bus_port, folder)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        for port in self.ports:
            _wait(partial(_answers, port), f"redis node on {port} answering", timeout=START_TIMEOUT_SECONDS)
        nodes = [f"{HOST}:{port}" for port in self.ports]
        done = subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise InfraError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
        for port in self.ports:
            _wait(partial(_serving, port), f"node {port} serving the cluster", timeout=START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Stop every node (SIGKILL: nothing is kept either way)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        for process in self.processes:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.processes.clear()


def _node_options(port: int, bus_port: int, folder: Path) -> list[str]:
    return [
        "--bind",
        HOST,
        "--port",
        str(port),
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        str(bus_port),
        "--cluster-config-file",
        "nodes.conf",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]


def _cli(port: int, *command: str) -> str:
    """What ``redis-cli`` answers on the node at ``port`` ('' when it does not answer)."""
    done = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), *command], capture_output=True, text=True, timeout=5, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def _answers(port: int) -> bool:
    return _cli(port, "PING") == "PONG"


def _serving(port: int) -> bool:
    """True once the node at ``port`` sees every slot served (``cluster_state:ok``)."""
    return "cluster_state:ok" in _cli(port, "CLUSTER", "INFO")


@contextlib.contextmanager
def running_redis_cluster(folder: Path, masters: int = MASTERS) -> Iterator[RedisClusterNodes]:
    """A cluster of ``masters`` nodes keeping their files under ``folder``, stopped on exit."""
    ports = free_ports(2 * masters)
    cluster = RedisClusterNodes(folder, ports[:masters], ports[masters:])
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
