"""The receiver's HTTP surface: ``POST /hooks`` and ``POST /hooks/...`` take deliveries; the rest is control (see
the package docstring)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from common.webhook_signature import SECRET_PREFIX
from devstack.sinks.webhook.behaviours import Behaviours, Rule
from devstack.sinks.webhook.recorder import Recorder, Secrets

HOOKS = "/hooks"


class SecretRequest(BaseModel):
    """Verify deliveries under ``path_prefix`` with ``secret``."""

    path_prefix: str = Field(pattern=r"^/", max_length=2048)
    secret: str = Field(pattern=rf"^{SECRET_PREFIX}[A-Za-z0-9+/=]+$", max_length=200)


class BehaviourRequest(BaseModel):
    """Answer deliveries under ``path_prefix`` or with a webhook-id starting ``webhook_id_prefix`` with
    ``status`` after ``delay_seconds``, ``times`` times (omitted: until cleared)."""

    status: int = Field(default=204, ge=100, le=599)
    delay_seconds: float = Field(default=0.0, ge=0, le=120)
    path_prefix: str | None = Field(default=None, pattern=r"^/", max_length=2048)
    webhook_id_prefix: str | None = Field(default=None, min_length=1, max_length=100)
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_selector(self) -> BehaviourRequest:
        if (self.path_prefix is None) == (self.webhook_id_prefix is None):
            raise ValueError("give path_prefix or webhook_id_prefix, not both")
        return self


def create_app(directory: Path) -> FastAPI:
    """The receiver over deliveries recorded in ``directory``."""
    recorder = Recorder(directory)
    secrets = Secrets()
    behaviours = Behaviours()
    app = FastAPI(title="Dev webhook receiver", redoc_url=None, on_shutdown=[recorder.close])

    @app.post(HOOKS, include_in_schema=False)
    @app.post(HOOKS + "/{rest:path}", include_in_schema=False)
    async def deliver(request: Request) -> Response:
        path = request.url.path
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = behaviours.answer(path, headers.get("webhook-id", ""))
        recorder.record(path, headers, await request.body(), answer.status, secrets.for_path(path))
        if answer.delay_seconds:
            await asyncio.sleep(answer.delay_seconds)
        return Response(status_code=answer.status)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/deliveries")
    async def deliveries(
        path_prefix: str | None = None,
        webhook_id: str | None = None,
        type: str | None = None,
        limit: int | None = Query(default=None, ge=1),
    ) -> list[dict[str, Any]]:
        return recorder.deliveries(path_prefix, webhook_id, type, limit)

    @app.get("/deliveries/stats")
    async def stats(path_prefix: str | None = None) -> dict[str, Any]:
        return recorder.stats(path_prefix)

    @app.delete("/deliveries", status_code=204)
    async def clear_deliveries() -> Response:
        recorder.clear()
        return Response(status_code=204)

    @app.get("/secrets")
    async def list_secrets() -> dict[str, int]:
        return secrets.prefixes()

    @app.post("/secrets", status_code=204)
    async def add_secret(body: SecretRequest) -> Response:
        secrets.add(body.path_prefix, body.secret)
        return Response(status_code=204)

    @app.delete("/secrets", status_code=204)
    async def clear_secrets() -> Response:
        secrets.clear()
        return Response(status_code=204)

    @app.get("/behaviours")
    async def list_behaviours() -> list[dict[str, Any]]:
        return [
            {
                "status": rule.status,
                "delay_seconds": rule.delay_seconds,
                "path_prefix": rule.path_prefix,
                "webhook_id_prefix": rule.webhook_id_prefix,
                "times": rule.remaining,
            }
            for rule in behaviours.rules()
        ]

    @app.post("/behaviours", status_code=204)
    async def add_behaviour(body: BehaviourRequest) -> Response:
        behaviours.add(Rule(body.status, body.delay_seconds, body.path_prefix, body.webhook_id_prefix, body.times))
        return Response(status_code=204)

    @app.delete("/behaviours", status_code=204)
    async def clear_behaviours(path_prefix: str | None = None) -> Response:
        behaviours.clear(path_prefix)
        return Response(status_code=204)

    return app
