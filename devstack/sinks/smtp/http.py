"""The sink's HTTP control surface: list and clear messages, set failure rules (see the package docstring)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Response
from pydantic import BaseModel, Field

from devstack.sinks.smtp.mailbox import Failures, Mailbox


class FailureRequest(BaseModel):
    """Refuse ``recipient`` (``*``: everyone) at RCPT with ``code`` for ``times`` attempts (omitted: always)."""

    recipient: str = Field(min_length=1, max_length=320)
    code: int = Field(ge=400, le=599)
    times: int | None = Field(default=None, ge=1)
    message: str | None = Field(default=None, max_length=400, pattern=r"^[^\r\n]*$")


def create_app(mailbox: Mailbox, failures: Failures) -> FastAPI:
    """The HTTP app over ``mailbox`` and ``failures``."""
    app = FastAPI(title="Dev SMTP sink", redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/messages")
    async def messages(
        recipient: str | None = None, limit: int | None = Query(default=None, ge=1)
    ) -> list[dict[str, Any]]:
        return mailbox.messages(recipient, limit)

    @app.get("/messages/count")
    async def count() -> dict[str, int]:
        return {"count": mailbox.count()}

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> Response:
        mailbox.clear()
        return Response(status_code=204)

    @app.get("/failures")
    async def list_failures() -> dict[str, dict[str, Any]]:
        return {
            recipient: {"code": rule.code, "times": rule.remaining, "message": rule.message or None}
            for recipient, rule in failures.rules().items()
        }

    @app.post("/failures", status_code=204)
    async def add_failure(rule: FailureRequest) -> Response:
        failures.add(rule.recipient, rule.code, rule.times, rule.message)
        return Response(status_code=204)

    @app.delete("/failures", status_code=204)
    async def clear_failures() -> Response:
        failures.clear()
        return Response(status_code=204)

    return app
