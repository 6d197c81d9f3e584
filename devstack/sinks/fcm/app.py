"""The HTTP surface of the local FCM server.

FCM and OAuth (what firebase-admin calls):
- ``POST /token``: the service account's ``token_uri``; form ``grant_type`` + ``assertion`` → access token.
- ``POST /v1/projects/{project}/messages:send``: bearer token required; validates, records and answers
  ``{"name": "projects/{project}/messages/{id}"}``, or fails exactly like FCM (see ``behaviours.py``).

Control (what tests and people call):
- ``GET /messages`` (``?token=`` filters by token or fid, ``?limit=`` keeps the newest n) and ``DELETE /messages``.
- ``GET /messages/stats``: every message accepted since the last clear, not just the newest kept, and how many
  repeated a (collapse key, token) pair already delivered — duplicates, since the push worker makes the
  notification id the collapse key.
- ``GET /tokens``; ``POST /tokens/{token}`` ``{"behaviour": "unregistered", "times": 2, "retry_after": 1}``
  (``times`` omitted: every send; token ``*``: any token); ``DELETE /tokens/{token}``; ``DELETE /tokens``.
- ``GET /health``.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from devstack.sinks.fcm.behaviours import Behaviour, Behaviours, Rule
from devstack.sinks.fcm.errors import FcmError, credentials_invalid, credentials_missing, permission_denied
from devstack.sinks.fcm.oauth import OAuthError, TokenEndpoint
from devstack.sinks.fcm.validation import parse_send_request

logger = logging.getLogger(__name__)

MAX_RECORDED_MESSAGES = 10_000
"""The newest accepted messages kept for ``GET /messages``; older ones are dropped."""

MAX_TRACKED_DELIVERIES = 1_000_000
"""(collapse key, token) pairs remembered for ``GET /messages/stats``; past that, duplicates are not counted."""


class TokenBehaviour(BaseModel):
    """How sends to a token fail."""

    behaviour: Behaviour
    times: int | None = Field(default=None, ge=1, description="how many sends fail; omitted: every send")
    retry_after: int | None = Field(default=None, ge=0, description="Retry-After seconds (quota, unavailable)")


class FcmServer:
    """The server's state: access tokens, failing tokens and the accepted messages."""

    def __init__(self, credentials_path: Path | None = None) -> None:
        self.oauth = TokenEndpoint(credentials_path)
        self.behaviours = Behaviours()
        self.messages: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_MESSAGES)
        self.stats = DeliveryStats()
        self._sequence = itertools.count(1)

    def send(self, project: str, authorization: str | None, raw_body: bytes) -> dict[str, str]:
        """Handle one ``messages:send`` call; raises :class:`FcmError` for every refusal."""
        scheme, _, access_token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not access_token:
            raise credentials_missing()
        grant = self.oauth.check(access_token.strip())
        if grant is None:
            raise credentials_invalid()
        if grant.project_id is not None and grant.project_id != project:
            raise permission_denied(project)
        request = parse_send_request(raw_body)
        if request.validate_only:
            return {"name": f"projects/{project}/messages/fake_message_id"}
        target, value = request.target
        if target in ("token", "fid"):
            failure = self.behaviours.failure_for(value)
            if failure is not None:
                raise failure
        message_id = f"0:{time.time_ns() // 1000}{next(self._sequence):06d}%{secrets.token_hex(8)}"
        name = f"projects/{project}/messages/{message_id}"
        self.stats.record(request.message, value)
        self.messages.append(
            {
                "name": name,
                "project": project,
                "message": request.message,
                "received_at": datetime.now(UTC).isoformat(),
            }
        )
        logger.debug("accepted %s for %s %s", name, target, value)
        return {"name": name}


class DeliveryStats:
    """Counts of accepted messages, and of repeats of a (collapse key, token) pair."""

    def __init__(self) -> None:
        self.accepted = 0
        self._deliveries: Counter[tuple[str, str]] = Counter()
        self._overflowed = False

    def record(self, message: dict[str, Any], target: str) -> None:
        """Count one accepted ``message`` sent to ``target`` (a token, fid, topic or condition)."""
        self.accepted += 1
        collapse_key = (message.get("android") or {}).get("collapse_key")
        if not collapse_key:
            return
        key = (str(collapse_key), target)
        if key in self._deliveries or len(self._deliveries) < MAX_TRACKED_DELIVERIES:
            self._deliveries[key] += 1
        else:
            self._overflowed = True

    def summary(self) -> dict[str, int | None]:
        """``accepted``, ``with_collapse_key`` and ``duplicates`` (None once too many pairs were seen)."""
        tracked = sum(self._deliveries.values())
        return {
            "accepted": self.accepted,
            "with_collapse_key": None if self._overflowed else tracked,
            "duplicates": None if self._overflowed else tracked - len(self._deliveries),
        }


def _addressed_to(message: dict[str, Any], token: str) -> bool:
    return token in (message.get("token"), message.get("fid"))


def _fcm_error_response(error: FcmError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status, headers=error.headers())


def create_app(credentials_path: Path | None = None) -> FastAPI:
    """The FastAPI app; with ``credentials_path``, token requests must be signed by that service account."""
    server = FcmServer(credentials_path)
    app = FastAPI(title="Local FCM-compatible server", docs_url="/docs", redoc_url=None)
    app.state.fcm = server

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        try:
            return JSONResponse(server.oauth.grant(await request.body()))
        except OAuthError as error:
            return JSONResponse(error.body(), status_code=400)

    @app.post("/v1/projects/{project}/messages:send")
    async def send(project: str, request: Request) -> JSONResponse:
        try:
            return JSONResponse(server.send(project, request.headers.get("authorization"), await request.body()))
        except FcmError as error:
            return _fcm_error_response(error)

    @app.get("/messages")
    async def messages(token: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        found = [m for m in server.messages if token is None or _addressed_to(m["message"], token)]
        return found[-limit:] if limit else found

    @app.get("/messages/stats")
    async def message_stats() -> dict[str, int | None]:
        return server.stats.summary()

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> Response:
        server.messages.clear()
        server.stats = DeliveryStats()
        return Response(status_code=204)

    @app.get("/tokens")
    async def tokens() -> dict[str, TokenBehaviour]:
        return {
            token: TokenBehaviour(behaviour=rule.behaviour, times=rule.remaining, retry_after=rule.retry_after)
            for token, rule in server.behaviours.rules().items()
        }

    @app.post("/tokens/{token}", status_code=204)
    async def register_token(token: str, behaviour: TokenBehaviour) -> Response:
        server.behaviours.register(token, Rule(behaviour.behaviour, behaviour.times, behaviour.retry_after))
        return Response(status_code=204)

    @app.delete("/tokens/{token}", status_code=204)
    async def forget_token(token: str) -> Response:
        if not server.behaviours.forget(token):
            raise HTTPException(404, f"no behaviour is registered for {token}")
        return Response(status_code=204)

    @app.delete("/tokens", status_code=204)
    async def clear_tokens() -> Response:
        server.behaviours.clear()
        return Response(status_code=204)

    return app
