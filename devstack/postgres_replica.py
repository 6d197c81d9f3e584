"""A private PostgreSQL primary and a streaming replica of it, for the tests of reads routed to a replica
(``NOTIFICATIONS_READ_DATABASE_URL``). The shared server on 5432 is never touched: both servers listen on free
loopback ports and keep everything in ``<tmp>/notification-private-replica/<owner pid>/``.

The primary is made with ``initdb`` (``devstack.private_infra.PrivatePostgres``), the replica with
``pg_basebackup -R`` from it (it streams from then on). Both are stopped on exit, at interpreter exit, and by a
later run that finds the folder of an owner that is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.private_infra import PrivatePostgres, _pid_alive, _postgres_bin, _run, _stop_postmaster
from devstack.stack import HOST, free_ports

BASE = Path(tempfile.gettempdir()) / "notification-private-replica"


@dataclass
class PrimaryAndReplica:
    """The two servers: write to ``primary``, read from ``replica``."""

    primary: PrivatePostgres
    replica: PrivatePostgres


def _make_replica(primary: PrivatePostgres, replica: PrivatePostgres) -> None:
    """A base backup of ``primary`` that starts as its streaming standby (``-R`` writes ``standby.signal`` and
    ``primary_conninfo``), listening on its own port."""
    replica.folder.mkdir(parents=True, exist_ok=True)
    if replica.user is not None:
        owner = pwd.getpwnam(replica.user)
        os.chown(replica.folder, owner.pw_uid, owner.pw_gid)
    _run(
        [
            str(_postgres_bin() / "pg_basebackup"),
            *("-h", HOST, "-p", str(primary.port), "-U", "postgres", "-D", str(replica.data)),
            *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
        ],
        user=replica.user,
        timeout=120,
    )
    with (replica.data / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {replica.port}\nunix_socket_directories = '{replica.folder}'\nhot_standby = on\n")


def _teardown(folder: Path) -> None:
    for data in (folder / "replica" / "data", folder / "primary" / "data"):
        _stop_postmaster(data / "postmaster.pid")
    shutil.rmtree(folder, ignore_errors=True)


def _clear_abandoned() -> None:
    if BASE.exists():
        for folder in BASE.iterdir():
            if folder.is_dir() and folder.name.isdigit() and not _pid_alive(int(folder.name)):
                _teardown(folder)


@contextlib.contextmanager
def primary_and_replica() -> Iterator[PrimaryAndReplica]:
    """Start a private primary and its streaming replica, yield them, stop both."""
    _clear_abandoned()
    BASE.mkdir(parents=True, exist_ok=True)
    os.chmod(BASE, 0o755)  # noqa: S103 - the postgres user must reach its clusters' folders
    folder = BASE / str(os.getpid())
    _teardown(folder)
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)  # noqa: S103 - as above
    primary_port, replica_port = free_ports(2)
    servers = PrimaryAndReplica(
        PrivatePostgres(folder / "primary", primary_port), PrivatePostgres(folder / "replica", replica_port)
    )
    atexit.register(_teardown, folder)
    try:
        servers.primary.create()
        servers.primary.start()
        _make_replica(servers.primary, servers.replica)
        servers.replica.start()
        yield servers
    finally:
        _teardown(folder)
        atexit.unregister(_teardown)
