"""A documented route whose endpoint reads its own request (it takes the Request and returns a Response)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, cast

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class RequestRoute(APIRoute):
    """Calls the endpoint with the Request alone, without FastAPI's request handler: it has no dependency to
    solve, no parameter or body to validate and no return value to serialise, so it needs none of it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)
