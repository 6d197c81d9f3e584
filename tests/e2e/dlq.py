"""Dead letters as an operator finds them (``/v1/dead-letters`` with the operator's key, which sees every
application's and poison) and the replay command as an operator runs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from common.settings import DEV_GATEWAY_ADMIN_API_KEY
from devstack.stack import ROOT

ADMIN = {"X-API-Key": DEV_GATEWAY_ADMIN_API_KEY}


async def dead_letters(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every dead letter now (newest first), each with its detail (headers, envelope, message id)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await http.get("/v1/dead-letters", params={"limit": 100, **params, "cursor": cursor}, headers=ADMIN)
        page.raise_for_status()
        for item in page.json()["items"]:
            found.append((await http.get(f"/v1/dead-letters/{item['id']}", headers=ADMIN)).json())
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def wait_for_dead_letter(http: httpx.AsyncClient, message_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The dead letter of the message ``message_id`` (a notification's id, or a poison message's), once the
    gateway has moved it out of ``failed.queue``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for letter in await dead_letters(http):
            if message_id in (letter["message_id"], letter["notification_id"]):
                return letter
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no dead letter of {message_id} within {timeout}s")
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Completed:
    code: int
    output: str


async def run_replay(environment: Mapping[str, str], *arguments: str) -> Completed:
    """``python -m delivery.replay ARGUMENTS`` with the stack's environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "delivery.replay",
        *arguments,
        env=dict(environment),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return Completed(await process.wait(), output.decode())
