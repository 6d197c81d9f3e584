"""A webhook endpoint for the webhook_worker tests: records every request it gets (path, headers, body, arrival
time) and answers as its path says: ``/ok/…`` 200, ``/status/<code>/…``, ``/slow/<seconds>/…`` (then 200),
``/redirect/…`` (302 to ``/ok/…``), ``/endless/…`` (200 with a body that never ends)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Received:
    """One request as the endpoint saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() on arrival"""


@dataclass
class WebhookReceiver:
    """The running endpoint: ``url(path)`` to register, ``received`` to inspect."""

    base: str
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]


async def _answer(receiver: WebhookReceiver, request: web.Request) -> web.StreamResponse:
    body = await request.read()
    receiver.received.append(
        Received(request.path, {name.lower(): value for name, value in request.headers.items()}, body, time.monotonic())
    )
    kind, *rest = request.path.strip("/").split("/")
    if kind == "status":
        return web.Response(status=int(rest[0]), text="refused by the test endpoint")
    if kind == "slow":
        await asyncio.sleep(float(rest[0]))
    if kind == "redirect":
        raise web.HTTPFound("/ok/" + "/".join(rest))
    if kind == "endless":
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        while True:
            await response.write(chunk)
    return web.Response(text="ok")


@asynccontextmanager
async def running_webhook_receiver(host: str = "127.0.0.1") -> AsyncIterator[WebhookReceiver]:
    """The endpoint on a free port of ``host``."""
    receiver = WebhookReceiver(base="")

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _answer(receiver, request)

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.base = f"http://{host}:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
