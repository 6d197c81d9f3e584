"""The baselines' servers, each run as its own process (``python -m bench.servers KIND PORT``):

- ``trivial``: an HTTP/1.1 server (asyncio + httptools, keep-alive) that answers every request at once with a
  fixed 202 body shaped like the gateway's. It shows what the load generators can drive.
- ``fastapi``: a bare FastAPI ``POST /v1/notifications/send`` with a pydantic body and no work behind it, under
  uvicorn (uvloop, httptools) in one process, as the gateway runs: what the HTTP framework alone costs.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import httptools
import uvicorn
import uvloop
from fastapi import FastAPI
from pydantic import BaseModel, Field

ACCEPTED_BODY = (
    b'{"notification_id":"0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01","status":"queued",'
    b'"status_url":"/v1/notifications/0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01","reason":null}'
)
TRIVIAL_RESPONSE = (
    b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(ACCEPTED_BODY)).encode()
    + b"\r\n\r\n"
    + ACCEPTED_BODY
)


class TrivialProtocol(asyncio.Protocol):
    """Answers each complete request with :data:`TRIVIAL_RESPONSE`."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(TRIVIAL_RESPONSE)


async def serve_trivial(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(TrivialProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


class SendBody(BaseModel):
    """The fields of the gateway's send body that matter for parsing."""

    user_id: uuid.UUID
    channel: str
    template: str
    variables: dict[str, Any] = Field(default_factory=dict)


def bare_fastapi() -> FastAPI:
    """The bare FastAPI application."""
    app = FastAPI()

    @app.post("/v1/notifications/send", status_code=202)
    async def send(body: SendBody) -> dict[str, Any]:
        notification_id = uuid.uuid4()
        return {
            "notification_id": str(notification_id),
            "status": "queued",
            "status_url": f"/v1/notifications/{notification_id}",
            "reason": None,
        }

    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "trivial":
        uvloop.run(serve_trivial(port))
    elif kind == "fastapi":
        uvicorn.run(
            bare_fastapi(),
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
        )
    else:
        sys.exit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main()
