"""The gateway served over real HTTP (uvicorn, in this process, on a free port) in front of a real user_svc and
template_svc: what an outside client such as schemathesis talks to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.serve import uvicorn_options
from gateway.settings import GatewaySettings

START_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class ServedGateway:
    """A gateway listening on ``url``; ``app`` is the application it serves."""

    app: FastAPI
    url: str
    settings: GatewaySettings


@contextlib.asynccontextmanager
async def served_gateway(settings: GatewaySettings) -> AsyncIterator[ServedGateway]:
    """Serve the gateway (lifespan included) on a free 127.0.0.1 port, with the uvicorn options of
    ``python -m gateway``, until the block ends."""
    app = create_app(settings)
    # uvicorn binds the port itself (port 0: a free one), as `python -m gateway` does: a socket handed over
    # with `sockets=` gets no TCP_NODELAY, and every keep-alive response then waits ~40 ms on a delayed ACK.
    options = {**uvicorn_options(settings), "host": "127.0.0.1", "port": 0, "timeout_graceful_shutdown": 2}
    config = uvicorn.Config(app, lifespan="on", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the gateway stopped before it started")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the gateway did not start within {START_TIMEOUT_SECONDS}s")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield ServedGateway(app=app, url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        await task
