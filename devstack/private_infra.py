"""Private PostgreSQL, Redis and RabbitMQ servers for tests that stop and restart them (the chaos suite).

The shared servers on 5432/6379/5672 are never touched: other test runs and benchmarks use them. Each private
server listens on a free loopback port and keeps everything in one folder, ``<tmp>/notification-private-infra/
<owner pid>/``:

- Redis: ``redis-server --port <free> --save "" --appendonly no`` (nothing on disk, like dev and CI).
- PostgreSQL: ``initdb`` (trust auth, no fsync) and ``pg_ctl``, run as the ``postgres`` user when we are root
  (PostgreSQL refuses to run as root).
- RabbitMQ: a second node ``private<pid>@localhost`` (``rabbitmq-server -detached``) with its own
  ``rabbitmq.conf`` (only its own listener), an empty plugin list (no management listener to clash with the
  main node's), its own ``rabbitmq-env.conf`` (the system one names the main node) and its own ``HOME``, so its
  Erlang cookie is its own too. Controlled with ``rabbitmqctl -n <node> stop_app|start_app|stop``.

Nothing outlives the run: :func:`private_infra` stops everything on exit, an ``atexit`` hook does it when the
interpreter ends, and a watchdog process (``python -m devstack.private_infra watch <pid> <folder>``) does
it when the owner dies without either (SIGKILL). A later run also clears folders whose owner is gone, so it is
idempotent across interrupted runs. Only processes these servers' own pid files name are ever signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.infra import Infra
from devstack.stack import HOST, ROOT, free_ports

BASE = Path(tempfile.gettempdir()) / "notification-private-infra"
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
POSTGRES_USER = "postgres"
START_TIMEOUT_SECONDS = 60.0
DATABASES = {
    "USER_SVC_DATABASE_URL": "chaos_users",
    "TEMPLATE_SVC_DATABASE_URL": "chaos_templates",
    "NOTIFICATIONS_DATABASE_URL": "chaos_notifications",
}


class InfraError(RuntimeError):
    """A private server could not be started or controlled."""


def _run(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 60, user: str | None = None) -> str:
    """Run ``command`` (as ``user`` when we are root), failing with its output."""
    if user is not None and os.geteuid() == 0:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise InfraError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _kill_pid_file(path: Path) -> None:
    """SIGKILL the process a pid file names, if it still runs."""
    pid = _read_pid(path)
    if pid is not None and _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop_postmaster(pid_file: Path) -> None:
    """SIGQUIT (immediate shutdown: the postmaster ends its backends), then SIGKILL if it lingers."""
    pid = _read_pid(pid_file)
    if pid is None or not _pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill_pid_file(pid_file)


def _wait(check: object, what: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise InfraError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.1)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


# --- Redis ---------------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.folder / "redis.pid"

    def start(self) -> None:
        """Start (again) on the same port, empty."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _run(
            [
                "redis-server",
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pid_file),
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ]
        )
        _wait(lambda: _port_open(self.port), f"redis on {self.port} answering")

    def stop(self) -> None:
        """Stop at once, keeping nothing (SIGKILL: the data is gone either way)."""
        _kill_pid_file(self.pid_file)
        _wait(lambda: not _port_open(self.port), f"redis on {self.port} closing", timeout=10)
        self.pid_file.unlink(missing_ok=True)


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise InfraError("pg_ctl is not installed")
    return Path(pg_ctl).parent


@dataclass
class PrivatePostgres:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def user(self) -> str | None:
        """Who runs the server: ``postgres`` when we are root, otherwise ourselves."""
        return POSTGRES_USER if os.geteuid() == 0 else None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def create(self) -> None:
        """A new cluster: trust authentication, no fsync (its data is thrown away)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            owner = pwd.getpwnam(self.user)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        _run(
            [str(_postgres_bin() / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"],
            user=self.user,
            timeout=120,
        )
        options = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.folder}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in options.items()))

    def start(self) -> None:
        _run(
            [
                str(_postgres_bin() / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.folder / "postgres.log")),
                *("-w", "-t", str(int(START_TIMEOUT_SECONDS)), "start"),
            ],
            user=self.user,
            timeout=START_TIMEOUT_SECONDS + 10,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop (``fast``: disconnect every client; ``immediate``: like a crash)."""
        _run(
            [str(_postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            user=self.user,
            timeout=60,
        )


# --- RabbitMQ ------------------------------------------------------------------------------------------------


@dataclass
class PrivateRabbitMQ:
    folder: Path
    port: int
    dist_port: int
    node: str
    cookie: str | None = None
    """The Erlang cookie (the nodes of a cluster share one); None lets the node make its own."""
    erl_args: str = ""
    """``RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS`` (a cluster's nodes run with ``+S 1:1`` to share two cores)."""
    extra_conf: str = ""
    """More ``rabbitmq.conf`` lines."""

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.port}/"

    @property
    def pid_file(self) -> Path:
        return self.folder / "rabbitmq.pid"

    def environment(self) -> dict[str, str]:
        """The environment of the node and of every ``rabbitmqctl`` call aimed at it."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "ERL_EPMD_ADDRESS": HOST,
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            **({"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": self.erl_args} if self.erl_args else {}),
        }

    def create(self) -> None:
        for sub in ("home", "mnesia", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {HOST}:{self.port}\n"
            "loopback_users = none\n"
            "disk_free_limit.absolute = 50MB\n"
            "log.console = false\n" + self.extra_conf
        )
        if self.cookie is not None:
            cookie = self.folder / "home" / ".erlang.cookie"
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        (self.folder / "rabbitmq-env.conf").write_text("")
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "advanced.config").write_text("[].\n")

    def ctl(self, *arguments: str, timeout: float = 60) -> str:
        """``rabbitmqctl -n <node> ARGUMENTS``."""
        return _run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *arguments], env=self.environment(), timeout=timeout
        )

    def start(self) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmq-server"), "-detached"],
            env=self.environment(),
            check=True,
            capture_output=True,
            timeout=60,
        )
        _wait(lambda: self.pid_file.exists(), "the RabbitMQ node writing its pid file")
        wait_seconds = str(int(START_TIMEOUT_SECONDS))
        self.ctl("wait", "--timeout", wait_seconds, str(self.pid_file), timeout=START_TIMEOUT_SECONDS)
        self.wait_listening()

    def wait_listening(self) -> None:
        _wait(lambda: _port_open(self.port), f"RabbitMQ on {self.port} answering")

    def stop_app(self) -> None:
        """Stop the broker application (the node stays up): every client connection is closed."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.wait_listening()

    def stop(self) -> None:
        with contextlib.suppress(InfraError, subprocess.TimeoutExpired):
            self.ctl("stop", timeout=30)
        _kill_pid_file(self.pid_file)


# --- the three together --------------------------------------------------------------------------------------


@dataclass
class PrivateInfra:
    """The three private servers of one owner process."""

    folder: Path
    redis: PrivateRedis
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ

    @classmethod
    def plan(cls, folder: Path) -> PrivateInfra:
        redis_port, pg_port, amqp_port, dist_port = free_ports(4)
        return cls(
            folder=folder,
            redis=PrivateRedis(folder / "redis", redis_port),
            postgres=PrivatePostgres(folder / "postgres", pg_port),
            rabbitmq=PrivateRabbitMQ(folder / "rabbitmq", amqp_port, dist_port, f"private{os.getpid()}@localhost"),
        )

    def infra(self) -> Infra:
        """What the stack and the fixtures use: URLs on the private servers."""
        return Infra(
            database_urls={variable: self.postgres.url(name) for variable, name in DATABASES.items()},
            redis_url=self.redis.url,
            rabbitmq_url=self.rabbitmq.url,
        )

    def save(self) -> None:
        """Write what teardown needs, for the watchdog and for a later run."""
        state = {
            "redis_pid_file": str(self.redis.pid_file),
            "postgres_pid_file": str(self.postgres.data / "postmaster.pid"),
            "rabbitmq": {
                "pid_file": str(self.rabbitmq.pid_file),
                "folder": str(self.rabbitmq.folder),
                "port": self.rabbitmq.port,
                "dist_port": self.rabbitmq.dist_port,
                "node": self.rabbitmq.node,
            },
        }
        (self.folder / "state.json").write_text(json.dumps(state))

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o755)  # noqa: S103 - the postgres user must reach its cluster's folder
        self.postgres.create()
        self.rabbitmq.create()
        self.save()
        self.redis.start()
        self.postgres.start()
        self.rabbitmq.start()

    def stop(self) -> None:
        """Stop everything and delete the folder."""
        teardown(self.folder)


def teardown(folder: Path) -> None:
    """Stop whatever ``folder``'s state file says runs (only processes its pid files name), then delete it."""
    state_file = folder / "state.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        rabbit = state["rabbitmq"]
        PrivateRabbitMQ(Path(rabbit["folder"]), rabbit["port"], rabbit["dist_port"], rabbit["node"]).stop()
        _kill_pid_file(Path(state["redis_pid_file"]))
        _stop_postmaster(Path(state["postgres_pid_file"]))
    shutil.rmtree(folder, ignore_errors=True)


def clear_abandoned() -> None:
    """Tear down the folders of earlier runs whose owner process is gone."""
    if not BASE.exists():
        return
    for folder in BASE.iterdir():
        if folder.is_dir() and folder.name.isdigit() and not _pid_alive(int(folder.name)):
            teardown(folder)


def _start_watchdog(owner: int, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "devstack.private_infra", "watch", str(owner), str(folder)],
        cwd=ROOT,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def private_infra() -> Iterator[PrivateInfra]:
    """Start the three private servers, yield them, stop them (also at interpreter exit or the owner's death)."""
    clear_abandoned()
    BASE.mkdir(parents=True, exist_ok=True)
    os.chmod(BASE, 0o755)  # noqa: S103 - the postgres user must reach its cluster's folder
    folder = BASE / str(os.getpid())
    teardown(folder)
    servers = PrivateInfra.plan(folder)
    watchdog = None
    atexit.register(teardown, folder)
    try:
        folder.mkdir(parents=True)
        watchdog = _start_watchdog(os.getpid(), folder)
        servers.start()
        yield servers
    finally:
        teardown(folder)
        atexit.unregister(teardown)
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()


def _watch(owner: int, folder: Path) -> None:
    """Wait for ``owner`` to end, then tear ``folder`` down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest must not end the watchdog first
    while _pid_alive(owner):
        time.sleep(1)
    teardown(folder)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "watch":
        _watch(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        raise SystemExit("usage: python -m devstack.private_infra watch <owner pid> <folder>")
