"""The dev SMTP sink in-process on free ports, with a client for its HTTP API (what a test observes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.sinks.smtp.server import SmtpSink


@dataclass
class RunningSmtpSink:
    """A started sink: where it listens, and its HTTP API."""

    sink: SmtpSink
    http: httpx.AsyncClient

    @property
    def smtp_port(self) -> int:
        return self.sink.smtp_port

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.sink.http_port}"

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """The stored messages, oldest first (``GET /messages``)."""
        response = await self.http.get("/messages", params={"recipient": recipient} if recipient else None)
        response.raise_for_status()
        return list(response.json())

    async def count(self) -> int:
        """How many messages are stored (``GET /messages/count``)."""
        response = await self.http.get("/messages/count")
        response.raise_for_status()
        return int(response.json()["count"])

    async def wait_for_messages(
        self, count: int, recipient: str | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages (for ``recipient``) are stored; fails the test otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if recipient is None and await self.count() < count:
                found: list[dict[str, Any]] = []
            else:
                found = await self.messages(recipient)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found) or await self.count()} of {count} messages arrived in {timeout}s")
            await asyncio.sleep(0.05)

    async def fail(self, recipient: str, code: int, times: int | None = None) -> None:
        """Refuse ``recipient`` (``*``: everyone) with ``code`` for ``times`` attempts (``POST /failures``)."""
        body: dict[str, Any] = {"recipient": recipient, "code": code}
        if times is not None:
            body["times"] = times
        (await self.http.post("/failures", json=body)).raise_for_status()

    async def failures(self) -> dict[str, dict[str, Any]]:
        """The failure rules with what is left of them (``GET /failures``)."""
        response = await self.http.get("/failures")
        response.raise_for_status()
        return dict(response.json())


@asynccontextmanager
async def running_smtp_sink(directory: Path) -> AsyncIterator[RunningSmtpSink]:
    """Start the sink on free ports storing into ``directory``; stop it afterwards."""
    sink = SmtpSink(directory, smtp_port=0, http_port=0)
    await sink.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sink.http_port}", timeout=10) as http:
            yield RunningSmtpSink(sink, http)
    finally:
        await sink.stop()
