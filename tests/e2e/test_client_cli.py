"""The ``notify`` CLI (clients/python) as an operator runs it, as a subprocess with ``NOTIFY_BASE_URL`` and
``NOTIFY_API_KEY``: send and watch it deliver, status and history as JSON and tables, keys created and revoked,
and the dead letters listed and replayed until delivered (docs/api.md section 15)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.settings import DEV_GATEWAY_ADMIN_API_KEY, DEV_GATEWAY_API_KEY
from devstack.stack import Stack
from notify_client import Client, NotFound
from tests.e2e.api import Mailbox, unique

NOTIFY = str(Path(sys.executable).parent / "notify")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(scope="module")
def notify(stack: Stack) -> Any:
    """Run ``notify ARGS`` against the stack, with the dev key unless ``key`` says otherwise."""

    def run(*args: str, key: str = DEV_GATEWAY_API_KEY) -> Run:
        environment = {**os.environ, "NOTIFY_BASE_URL": stack.url("gateway"), "NOTIFY_API_KEY": key}
        done = subprocess.run([NOTIFY, *args], env=environment, capture_output=True, text=True, timeout=60, check=False)
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[Client]:
    with Client(stack.url("gateway"), api_key=DEV_GATEWAY_API_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def slug(client: Client) -> str:
    name = unique("cli")
    client.templates.create(name, "email", "Hello {{ user.name }}: {{ what }}", subject="CLI {{ what }}")
    return name


def test_send_watches_it_deliver_then_status_and_events(notify: Any, client: Client, slug: str) -> None:
    user = client.users.create("Cli User", f"{unique('cli')}@example.com", "correct-horse")

    sent = notify("send", "--user", user.id, "--channel", "email", "--template", slug, "--var", "what=hi", "--wait")

    assert sent.code == 0, sent.stderr
    delivered = sent.json()
    assert (delivered["status"], delivered["user_id"]) == ("delivered", user.id)
    assert sent.stderr.split()[-1] == "delivered"  # each status as it came, on stderr
    table = notify("-o", "table", "status", delivered["notification_id"])
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["notification_id", "channel", "template", "status"]
    assert row.split()[:4] == [delivered["notification_id"], "email", slug, "delivered"]
    events = notify("events", delivered["notification_id"]).json()
    assert [event["status"] for event in events] == ["queued", "sending", "delivered"]


def test_a_problem_prints_its_json_and_exits_1(notify: Any) -> None:
    missing = "01a21d11-0000-7000-8000-000000000000"

    result = notify("status", missing)

    assert result.code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr)["type"] == "/problems/not-found"


def test_keys_are_created_and_revoked_with_the_operators_key(notify: Any, stack: Stack) -> None:
    with Client(stack.url("gateway"), api_key=DEV_GATEWAY_ADMIN_API_KEY) as admin:
        application = admin.applications.create(unique("cli-app"))

    created = notify(
        "keys", "create", application.id, "--name", "ops", "--scope", "notifications:read", "--scope",
        "notifications:send", key=DEV_GATEWAY_ADMIN_API_KEY,
    )  # fmt: skip

    assert created.code == 0, created.stderr
    key = created.json()
    assert sorted(key["scopes"]) == ["notifications:read", "notifications:send"]
    assert notify("status", "01a21d11-0000-7000-8000-000000000000", key=key["key"]).code == 1  # a 404: the key works
    revoked = notify("-o", "table", "keys", "revoke", application.id, key["id"], key=DEV_GATEWAY_ADMIN_API_KEY)
    assert revoked.code == 0, revoked.stderr
    assert key["id"] in revoked.stdout
    deadline = time.monotonic() + 5
    while json.loads(notify("status", "01a21d11-0000-7000-8000-000000000000", key=key["key"]).stderr)["status"] != 401:
        assert time.monotonic() < deadline, "the revoked key still works after 5 s"


async def test_a_dead_letter_is_listed_and_replayed_until_delivered(
    notify: Any, client: Client, mailbox: Mailbox, slug: str
) -> None:
    user = client.users.create("Dead Letter", f"{unique('dlq')}@example.com", "correct-horse")
    await mailbox.fail(user.email, 554)
    sent = notify("send", "--user", user.id, "--channel", "email", "--template", slug, "--var", "what=x", "--wait")
    failed = sent.json()
    assert failed["status"] == "failed", sent.stdout

    deadline = time.monotonic() + 10
    while not (found := [d for d in notify("dlq", "list").json() if d["notification_id"] == failed["notification_id"]]):
        assert time.monotonic() < deadline, "the failed notification never became a dead letter"
        await asyncio.sleep(0.2)
    [letter] = found
    assert (letter["channel"], letter["reason"], letter["attempts"]) == ("email", "smtp_554", 1)
    table = notify("-o", "table", "dlq", "list", "--channel", "email")
    assert letter["id"] in table.stdout

    await mailbox.clear_failures()
    client.suppressions.remove(user.email)  # the hard bounce suppressed the address; the operator lifts it
    replayed = notify("dlq", "replay", letter["id"])
    assert replayed.code == 0, replayed.stderr

    deadline = time.monotonic() + 15
    while (status := notify("status", failed["notification_id"]).json())["status"] != "delivered":
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)


async def test_dead_letters_are_read_and_discarded_with_the_client(client: Client, mailbox: Mailbox, slug: str) -> None:
    user = client.users.create("Discarded", f"{unique('discard')}@example.com", "correct-horse")
    await mailbox.fail(user.email, 554)
    sent = client.notifications.send(user.id, "email", slug, variables={"what": "x"})

    deadline = time.monotonic() + 15
    while not (
        found := [d for d in client.dead_letters.iterate(channel="email") if d.notification_id == sent.notification_id]
    ):
        assert time.monotonic() < deadline, "the failed notification never became a dead letter"
        await asyncio.sleep(0.2)
    [letter] = found
    detail = client.dead_letters.get(letter.id)
    assert (detail.notification_id, detail.reason) == (sent.notification_id, "smtp_554")
    assert detail.notification is not None
    assert detail.notification.status == "failed"

    client.dead_letters.discard(letter.id)

    with pytest.raises(NotFound):
        client.dead_letters.get(letter.id)
    await mailbox.clear_failures()
