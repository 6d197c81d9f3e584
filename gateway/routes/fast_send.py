"""``POST /v1/notifications/send`` without FastAPI's per-request machinery, for the requests that need none of it.

The send route is the hot path, and FastAPI's dependency solving, parameter and body validation cost about a
sixth of the gateway's CPU per send. This route sits in front of the FastAPI one: a request with an API key, a
well-formed ``Idempotency-Key`` (or none) and a body that validates as :class:`SendRequest` goes straight to
:class:`gateway.accepting.SendService`, as the FastAPI route does; anything else (a bearer token,
a bad header, a body that does not validate) goes through the app's router again with its body, this route
stepping aside, so every error is still the one the documented route gives.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from gateway.routes.notifications import accepted_response
from gateway.schemas.notifications import SendRequest

PATH = "/v1/notifications/send"
DECLINED = "gateway.fast_send.declined"
"""Set in the scope of a request this route handed over, so that it does not match it again."""
_IDEMPOTENCY_KEY = re.compile(r"[ -~]{1,255}")
"""What the FastAPI route's ``Idempotency-Key`` parameter accepts (1-255 printable ASCII characters)."""


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands over an already-read body, then reports the client gone."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class FastSendRoute(Route):
    """Matches ``POST /v1/notifications/send`` first and serves the common case itself (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(PATH, endpoint=self._never_called, methods=["POST"], include_in_schema=False)
        self.served = 0
        """Requests this route answered itself."""
        self.handed_over = 0
        """Requests it handed to the documented route."""

    @staticmethod
    async def _never_called(request: Request) -> Response:
        raise AssertionError("FastSendRoute.handle answers every request it matches")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(DECLINED):
            return Match.NONE, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        response = await self._serve(request, body)
        if response is None:
            self.handed_over += 1
            scope[DECLINED] = True
            await scope["app"].router(scope, _replay(body), send)
        else:
            self.served += 1
            await response(scope, receive, send)

    @staticmethod
    async def _serve(request: Request, body: bytes) -> Response | None:
        """The response to a request this route can serve alone, or None."""
        headers = request.headers
        api_key = headers.get("x-api-key")
        idempotency_key = headers.get("idempotency-key")
        if not api_key or (idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key)):
            return None
        try:
            send_request = SendRequest.model_validate_json(body)
        except ValidationError:
            return None
        resources: Any = request.app.state.resources
        caller = resources.authenticator.authenticate(api_key, headers.get("authorization"))
        accepted = await resources.send_service.accept(send_request, caller.require_application(), idempotency_key)
        return accepted_response(accepted)
