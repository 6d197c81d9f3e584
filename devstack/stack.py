"""The whole stack as ``make up`` runs it (``devstack/up.sh``): migrations through ``python -m <service> migrate``,
FCM credentials through ``python -m devstack.sinks.fcm credentials``, then every ``deploy/Procfile`` entry under
honcho with ``deploy/dev.env`` — but on free ports, the test databases, Redis database and vhost, and with
files (credentials, mail, logs) in a temporary folder.

    async with running_stack(infra, tmp_path) as stack:
        stack.url("gateway")                     # http://127.0.0.1:<free port>
        await stack.start_service("email_worker", instance="email_worker_2",
                                  environment={"EMAIL_WORKER_PORT": str(free_port())})
        await stack.kill_service("email_worker")  # SIGKILL: a crash
        await stack.start_service("email_worker")  # back, on the same port

Each Procfile entry runs under its own ``honcho start <entry>`` in its own process group, so one service can
be stopped, killed or restarted while the others run (one honcho for everything would stop the whole stack
as soon as one process exits). Everything a process prints goes to ``<folder>/logs/<instance>.log``;
:meth:`Stack.log_tails` gathers the end of each for failure messages.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.infra import Infra

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "deploy" / "Procfile"
DEV_ENV = ROOT / "deploy" / "dev.env"
HOST = "127.0.0.1"

PORT_VARIABLES = (
    "GATEWAY_PORT",
    "USER_SVC_PORT",
    "TEMPLATE_SVC_PORT",
    "EMAIL_WORKER_PORT",
    "PUSH_WORKER_PORT",
    "WEBHOOK_WORKER_PORT",
    "INBOUND_PORT",
    "INBOUND_SMTP_PORT",
    "SMTP_SINK_BACKUP_PORT",
    "SMTP_SINK_BACKUP_HTTP_PORT",
    "SMTP_SINK_PORT",
    "SMTP_SINK_HTTP_PORT",
    "FCM_SINK_PORT",
    "WEBHOOK_RECEIVER_PORT",
    "USER_SVC_METRICS_PORT",
    "TEMPLATE_SVC_METRICS_PORT",
)
"""Every port the stack listens on (up.sh checks the same list)."""

FAST_SETTINGS = {
    "EMAIL_WORKER_RETRY_DELAY_SCALE": "0.01",
    "PUSH_WORKER_RETRY_DELAY_SCALE": "0.01",
    "EMAIL_WORKER_SHUTDOWN_GRACE_SECONDS": "3",
    "PUSH_WORKER_SHUTDOWN_GRACE_SECONDS": "3",
    "WEBHOOK_WORKER_SHUTDOWN_GRACE_SECONDS": "3",
    "USER_SVC_PASSWORD_TIME_COST": "1",
    "USER_SVC_PASSWORD_MEMORY_KIB": "1024",
    "LOG_LEVEL": "INFO",
}
"""Test timings: the retry ladder at 1/100 (the 5 s step waits ~50 ms), a short drain, a cheap password hash."""

LEAKY_VARIABLES = ("PORT", "DATABASE_URL", "APP_ENV", "INTERNAL_API_KEY", "BIND_HOST", "RABBITMQ_URLS")
"""Variables of the calling shell that must not reach the stack's processes."""

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
LOG_TAIL_LINES = 40
_CHILD_PID = re.compile(r"\| (?P<name>\S+) started \(pid=(?P<pid>\d+)\)")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free right now (all probes are held open until every port is known)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind((HOST, 0))
            probes.append(probe)
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    """One free port."""
    return free_ports(1)[0]


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a dotenv file such as ``deploy/dev.env`` (blank lines and ``#`` comments skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def procfile_entries(path: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's entries: name → command."""
    entries = {}
    for line in path.read_text().splitlines():
        name, separator, command = line.partition(":")
        if separator and name.strip() and not name.lstrip().startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def stack_environment(
    infra: Infra,
    folder: Path,
    *,
    queue_type: str = "quorum",
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment every process of the stack gets: the caller's, then ``deploy/dev.env``, then free
    ports, the test infrastructure, files in ``folder``, :data:`FAST_SETTINGS` and ``overrides``."""
    ports = dict(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES)), strict=True))
    environment = {name: value for name, value in os.environ.items() if name not in LEAKY_VARIABLES}
    environment.update(read_env_file(DEV_ENV))
    environment.update({name: str(port) for name, port in ports.items()})
    environment.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
            "USER_SERVICE_URL": f"{HOST}:{ports['USER_SVC_PORT']}",
            "TEMPLATE_SERVICE_URL": f"{HOST}:{ports['TEMPLATE_SVC_PORT']}",
            "SMTP_HOST": HOST,
            "SMTP_PORT": str(ports["SMTP_SINK_PORT"]),
            # one relay, so a failure rule set on smtp_sink holds for every attempt; a test that shows the
            # failover gives its email worker both (SMTP_RELAYS of deploy/dev.env)
            "SMTP_RELAYS": f"{HOST}:{ports['SMTP_SINK_PORT']}",
            "FCM_ENDPOINT": f"http://{HOST}:{ports['FCM_SINK_PORT']}",
            "GOOGLE_APPLICATION_CREDENTIALS": str(folder / "fcm-service-account.json"),
            "SMTP_SINK_DIR": str(folder / "mail"),
            "SMTP_SINK_REPORTS_TO": f"{HOST}:{ports['INBOUND_SMTP_PORT']}",
            "PUBLIC_BASE_URL": f"http://{HOST}:{ports['GATEWAY_PORT']}",
            "WEBHOOK_RECEIVER_DIR": str(folder / "webhooks"),
            "USER_SVC_DATABASE_URL": infra.database_urls["USER_SVC_DATABASE_URL"],
            "TEMPLATE_SVC_DATABASE_URL": infra.database_urls["TEMPLATE_SVC_DATABASE_URL"],
            "NOTIFICATIONS_DATABASE_URL": infra.database_urls["NOTIFICATIONS_DATABASE_URL"],
            "REDIS_URL": infra.redis_url,
            "RABBITMQ_URL": infra.rabbitmq_url,
            "RABBITMQ_QUEUE_TYPE": queue_type,
            "PYTHONUNBUFFERED": "1",
            **FAST_SETTINGS,
        }
    )
    environment.update(overrides or {})
    return environment


# --- readiness ---------------------------------------------------------------------------------------------

Probe = Callable[[Mapping[str, str]], Awaitable[bool]]


def _http_probe(port_variable: str, path: str) -> Probe:
    async def probe(environment: Mapping[str, str]) -> bool:
        url = f"http://{HOST}:{environment[port_variable]}{path}"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    return probe


def _grpc_probe(port_variable: str) -> Probe:
    async def probe(environment: Mapping[str, str]) -> bool:
        async with grpc.aio.insecure_channel(f"{HOST}:{environment[port_variable]}") as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.aio.AioRpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return probe


READINESS: dict[str, Probe] = {
    "user_svc": _grpc_probe("USER_SVC_PORT"),
    "template_svc": _grpc_probe("TEMPLATE_SVC_PORT"),
    "gateway": _http_probe("GATEWAY_PORT", "/ready"),
    "email_worker": _http_probe("EMAIL_WORKER_PORT", "/ready"),
    "push_worker": _http_probe("PUSH_WORKER_PORT", "/ready"),
    "webhook_worker": _http_probe("WEBHOOK_WORKER_PORT", "/ready"),
    "inbound": _http_probe("INBOUND_PORT", "/ready"),
    "smtp_sink": _http_probe("SMTP_SINK_HTTP_PORT", "/health"),
    "smtp_sink_backup": _http_probe("SMTP_SINK_BACKUP_HTTP_PORT", "/health"),
    "fcm_server": _http_probe("FCM_SINK_PORT", "/health"),
    "webhook_receiver": _http_probe("WEBHOOK_RECEIVER_PORT", "/health"),
}
"""How each Procfile entry says it is ready (an entry without a probe is ready once it started)."""


# --- one service -------------------------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """One Procfile entry under its own honcho: honcho leads a process group, and the service it started
    leads another (honcho starts each child in a new session)."""

    name: str
    instance: str
    environment: dict[str, str]
    overrides: dict[str, str]
    """What this instance's environment adds to the stack's."""
    root: Path
    """The checkout it runs from (its working directory)."""
    log: Path
    honcho: asyncio.subprocess.Process

    @property
    def running(self) -> bool:
        return self.honcho.returncode is None

    def service_pid(self) -> int | None:
        """The pid (and process group) of the service's shell, as honcho logged it; None before it started."""
        match = _CHILD_PID.search(self.log.read_text(errors="replace")) if self.log.exists() else None
        return int(match["pid"]) if match else None

    def send_signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the service's process group only; honcho notices the exit and ends too."""
        pid = self.service_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signum)

    def signal_honcho(self, signum: signal.Signals) -> None:
        """Send ``signum`` to honcho's process group (SIGTERM/SIGINT: honcho stops the service gracefully)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.honcho.pid, signum)

    async def stop(self, signum: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Stop gracefully through honcho; SIGKILL both groups after ``timeout``. Returns honcho's exit code."""
        if self.running:
            self.signal_honcho(signum)
            try:
                await asyncio.wait_for(self.honcho.wait(), timeout)
            except TimeoutError:
                self.kill_everything()
        self.kill_everything()  # a service that ignored honcho must not outlive the test
        return await self.honcho.wait()

    def kill_if_running(self) -> None:
        """SIGKILL both groups unless honcho is known to have exited."""
        if self.running:
            self.kill_everything()

    def kill_everything(self) -> None:
        """SIGKILL honcho's and the service's process groups."""
        self.send_signal(signal.SIGKILL)
        self.signal_honcho(signal.SIGKILL)

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log."""
        if not self.log.exists():
            return "(no output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# --- the stack ---------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """The local stack's processes on the environment of :func:`stack_environment`."""

    environment: dict[str, str]
    folder: Path
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def entries(self) -> dict[str, str]:
        return procfile_entries()

    def url(self, service: str) -> str:
        """The base URL of an HTTP service: ``gateway``, ``email_worker``, ``push_worker``, ``webhook_worker``,
        ``inbound`` (its HTTP side), ``smtp_sink`` or ``smtp_sink_backup`` (their HTTP side), ``fcm_server`` or
        ``webhook_receiver``."""
        variable = {
            "gateway": "GATEWAY_PORT",
            "email_worker": "EMAIL_WORKER_PORT",
            "push_worker": "PUSH_WORKER_PORT",
            "webhook_worker": "WEBHOOK_WORKER_PORT",
            "inbound": "INBOUND_PORT",
            "smtp_sink": "SMTP_SINK_HTTP_PORT",
            "smtp_sink_backup": "SMTP_SINK_BACKUP_HTTP_PORT",
            "fcm_server": "FCM_SINK_PORT",
            "webhook_receiver": "WEBHOOK_RECEIVER_PORT",
        }[service]
        return f"http://{HOST}:{self.environment[variable]}"

    async def prepare(self) -> None:
        """What up.sh does before honcho: the three migrations and the FCM service-account file."""
        (self.folder / "mail").mkdir(parents=True, exist_ok=True)
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        (self.folder / "honcho.env").write_text("")  # honcho would read <root>/.env otherwise: keep it out
        env = self.environment
        commands = [
            ["user_svc", "migrate"],
            ["template_svc", "migrate"],
            ["gateway", "migrate"],
            ["devstack.sinks.fcm", "credentials", env["GOOGLE_APPLICATION_CREDENTIALS"], "--url", env["FCM_ENDPOINT"]],
        ]
        await asyncio.gather(*(self._run_once(command) for command in commands))

    async def _run_once(self, command: list[str]) -> None:
        """``python -m COMMAND`` to completion (the commands of :meth:`prepare` are independent: they run
        together), failing with its output."""
        log = self.folder / "logs" / f"prepare-{command[0]}.log"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", *command, env=self.environment, cwd=ROOT, stdout=output, stderr=output
            )
            code = await process.wait()
        if code != 0:
            raise RuntimeError(f"python -m {' '.join(command)} exited with {code}:\n{log.read_text()}")

    async def start(self, services: Iterable[str] | None = None, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start ``services`` (default: every Procfile entry) together and wait until each is ready."""
        names = list(services) if services is not None else list(self.entries)
        for name in names:
            await self._spawn(name, name, {}, ROOT)
        await asyncio.gather(*(self.wait_ready(name, timeout) for name in names))

    async def start_service(
        self,
        name: str,
        *,
        instance: str | None = None,
        environment: Mapping[str, str] | None = None,
        root: Path | None = None,
        timeout: float = START_TIMEOUT_SECONDS,
        wait: bool = True,
    ) -> ServiceProcess:
        """Start one Procfile entry (again) and wait until it is ready (``wait=False``: only start it).
        ``instance`` names an extra copy (e.g. ``email_worker_2``), which usually needs its own port in
        ``environment``; ``root`` runs it from another checkout (its working directory, so ``python -m`` imports
        that tree first; ``environment`` adds a ``PYTHONPATH`` for its ``gen/``). A restarted instance keeps the
        ``environment`` and ``root`` it had unless given others."""
        instance = instance or name
        earlier = self.processes.get(instance)
        if environment is None and earlier is not None:
            environment = earlier.overrides
        if root is None:
            root = earlier.root if earlier is not None else ROOT
        process = await self._spawn(name, instance, dict(environment or {}), root)
        if wait:
            await self.wait_ready(process.instance, timeout)
        return process

    async def _spawn(self, name: str, instance: str, environment: dict[str, str], root: Path) -> ServiceProcess:
        if name not in self.entries:
            raise KeyError(f"{name} is not an entry of {PROCFILE}")
        existing = self.processes.get(instance)
        if existing is not None and existing.running:
            raise RuntimeError(f"{instance} is already running")
        env = {**self.environment, **environment}
        log = self.folder / "logs" / f"{instance}.log"
        if existing is not None and log.exists():  # a restart: keep the earlier run's output apart
            log.rename(log.with_suffix(f".{time.time_ns()}.log"))
        with log.open("wb") as output:
            honcho = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "honcho",
                "--no-colour",
                "-f",
                str(PROCFILE),
                "-d",
                str(ROOT),
                "-e",
                str(self.folder / "honcho.env"),
                "start",
                name,
                env=env,
                cwd=root,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        process = ServiceProcess(
            name=name, instance=instance, environment=env, overrides=environment, root=root, log=log, honcho=honcho
        )
        self.processes[instance] = process
        atexit.register(process.kill_if_running)  # a test run interrupted before teardown leaves nothing behind
        return process

    async def wait_ready(self, instance: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until ``instance`` answers its readiness probe; fail with its log when it exits or times out."""
        process = self.processes[instance]
        probe = READINESS.get(process.name)
        deadline = time.monotonic() + timeout
        while True:
            if not process.running:
                raise RuntimeError(f"{instance} exited with {process.honcho.returncode}:\n{process.tail()}")
            if process.service_pid() is not None and (probe is None or await probe(process.environment)):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{instance} was not ready within {timeout:.0f}s:\n{process.tail()}")
            await asyncio.sleep(0.1)

    async def stop_service(
        self, instance: str, signum: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS
    ) -> int:
        """Stop one instance gracefully (SIGTERM or SIGINT through honcho); returns honcho's exit code."""
        return await self.processes[instance].stop(signum, timeout)

    async def kill_service(self, instance: str, signum: signal.Signals = signal.SIGKILL) -> int:
        """Send ``signum`` (SIGKILL: a crash) to the service itself, not to honcho; returns honcho's exit code."""
        process = self.processes[instance]
        process.send_signal(signum)
        try:
            return await asyncio.wait_for(process.honcho.wait(), STOP_TIMEOUT_SECONDS)
        finally:
            process.kill_everything()

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop every instance (SIGTERM to each honcho group, SIGKILL after ``timeout``)."""
        await asyncio.gather(*(process.stop(timeout=timeout) for process in self.processes.values()))

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        """The end of every instance's log, for a failure message."""
        return "\n".join(
            f"----- {instance} ({'running' if process.running else f'exited {process.honcho.returncode}'}) -----\n"
            f"{process.tail(lines)}"
            for instance, process in self.processes.items()
        )


@asynccontextmanager
async def running_stack(
    infra: Infra,
    folder: Path,
    *,
    queue_type: str = "quorum",
    services: Iterable[str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """Prepare and start the stack (or only ``services``) in ``folder`` on ``infra`` (another vhost: pass
    ``dataclasses.replace(infra, rabbitmq_url=...)``), yield it, stop it."""
    stack = Stack(
        stack_environment(infra, folder, queue_type=queue_type, overrides=environment),
        folder,
    )
    try:
        await stack.prepare()
        await stack.start(services)
        yield stack
    finally:
        await stack.stop()
