"""The gateway served over real HTTP (uvicorn, in this process, on a free port) in front of a real user_svc and
template_svc: what an outside client such as schemathesis talks to."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
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
    """Serve the gateway (lifespan included) on a free 127.0.0.1 port until the block ends."""
    app = create_app(settings)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the gateway stopped before it started")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the gateway did not start within {START_TIMEOUT_SECONDS}s")
            await asyncio.sleep(0.02)
        yield ServedGateway(app=app, url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        await task
        listener.close()
