"""Once a second through the whole run: resident memory and CPU of every service (its whole process group)
and of the infrastructure's processes, and the backlog of each channel (accepted, not yet picked up), each
sample tagged with the phase."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import database
from bench.environment import Usage, group_pids, service_groups, usage
from devstack.stack import Stack

INFRA_PROCESSES = {"postgres": "postgres", "rabbitmq": "beam.smp", "redis": "redis-server"}
"""The infrastructure's processes by command name. PostgreSQL counts only the backends of the bench databases;
RabbitMQ and Redis are one process each, shared with anything else on the box: indicative only."""


def infra_pids() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {name: [] for name in INFRA_PROCESSES}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry.name}/comm").read_text().strip()
        except OSError:
            continue
        for name, wanted in INFRA_PROCESSES.items():
            if command == wanted and (name != "postgres" or _serves_the_bench(entry.name)):
                found[name].append(int(entry.name))
    return found


def _serves_the_bench(pid: str) -> bool:
    """A PostgreSQL backend connected to a bench database (its title names the database); other suites' backends
    and the server's shared processes are left out."""
    try:
        return b" bench_" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Monitor:
    """Samples the stack; :meth:`usage_now` gives the CPU and memory of every service and infrastructure part."""

    stack: Stack
    db: Any
    """The notifications database pool (the backlog is read from it)."""
    phase: str = "setup"
    samples: list[dict[str, Any]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _started: float = field(default_factory=time.monotonic)
    _scanned_at: float = 0.0
    _groups: dict[str, int] = field(default_factory=dict)
    _service_pids: dict[str, list[int]] = field(default_factory=dict)
    _infra_pids: dict[str, list[int]] = field(default_factory=dict)

    def _pids(self, rescan: bool) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """The pids of every service group and infrastructure part, found again every 5 s, when a service
        (re)started or stopped, or on demand (scanning /proc costs the driver more CPU than reading the counters)."""
        groups = service_groups(self.stack)
        now = time.monotonic()
        if rescan or now - self._scanned_at > 5 or groups != self._groups:
            self._groups = groups
            self._service_pids = {instance: group_pids(pgid) for instance, pgid in groups.items()}
            self._infra_pids = infra_pids()
            self._scanned_at = now
        return self._service_pids, self._infra_pids

    def usage_now(self, rescan: bool = False) -> dict[str, Usage]:
        """``rescan``: find the pids afresh, e.g. a restarted service's worker processes it spawned after its start."""
        services, infra = self._pids(rescan)
        found = {instance: usage(pids) for instance, pids in services.items()}
        found.update({name: usage(pids) for name, pids in infra.items()})
        honchos = [process.honcho.pid for process in self.stack.processes.values() if process.running]
        found["honcho"] = usage(honchos)  # relays every log line of the services, as under make up
        return found

    async def _run(self) -> None:
        while True:
            try:
                depths = await asyncio.wait_for(database.backlog(self.db), 2)
            except Exception:
                depths = {}
            now = self.usage_now()
            self.samples.append(
                {
                    "t": round(time.monotonic() - self._started, 2),
                    "phase": self.phase,
                    "rss_mb": {name: round(item.rss_bytes / 2**20, 1) for name, item in now.items()},
                    "cpu_s": {name: round(item.cpu_seconds, 2) for name, item in now.items()},
                    "queues": depths,
                }
            )
            await asyncio.sleep(1.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def of_phase(self, phase: str) -> list[dict[str, Any]]:
        return [sample for sample in self.samples if sample["phase"] == phase]


def cpu_per_item(before: dict[str, Usage], after: dict[str, Usage], items: int) -> dict[str, float]:
    """CPU µs each service and infrastructure part spent per item (send, delivery) between two readings."""
    if items <= 0:
        return {}
    found = {}
    for name, now in after.items():
        earlier = before[name].cpu_seconds if name in before else 0.0  # a process started meanwhile
        if now.cpu_seconds >= earlier:
            found[name] = round((now.cpu_seconds - earlier) / items * 1e6, 1)
    return found
