"""Executing :class:`~notify_client._call.Call` values: the retry loop over httpx, once blocking and once async.
Both ask the same :class:`~notify_client.retry.RetryPolicy` and read answers with the same :func:`finish`; only
sending and sleeping differ."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import httpx

from notify_client._call import Call
from notify_client.errors import ConnectionFailed, problem_error
from notify_client.models import Page
from notify_client.retry import RetryPolicy

T = TypeVar("T")
USER_AGENT = "notify-client-python/0.1"


def credential_headers(api_key: str | None, token: str | None, application_id: str | None) -> dict[str, str]:
    """The headers that say who calls: an API key (``X-API-Key``) or a user's bearer token, and for the
    operator's key the application it acts in (``X-Application-Id``)."""
    if api_key and token:
        raise ValueError("give an API key or a bearer token, not both")
    headers = {"User-Agent": USER_AGENT}
    if api_key:
        headers["X-API-Key"] = api_key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if application_id:
        headers["X-Application-Id"] = application_id
    return headers


def finish(call: Call[T], response: httpx.Response) -> T:
    """The decoded answer of ``call``, or its problem raised as a typed exception."""
    if response.is_error:
        raise problem_error(response)
    return call.decode(response)


class SyncExecutor:
    """Runs calls on an ``httpx.Client``, sleeping between retries."""

    def __init__(self, http: httpx.Client, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    def run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.send(call.request(self.http))
            except httpx.TransportError as error:
                wait = self.retry.after_error(attempt, call.idempotent)
                if wait is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {error!r}") from error
                time.sleep(wait)
                continue
            wait = self.retry.after_response(attempt, response)
            if wait is None:
                return finish(call, response)
            response.close()
            time.sleep(wait)

    def iterate(self, page: Callable[[str | None], Call[Page[T]]], cursor: str | None) -> Iterator[T]:
        """Every item of a cursor-paginated list, fetching the next page when the last one is used up."""
        while True:
            current = self.run(page(cursor))
            yield from current.items
            if not current.next_cursor:
                return
            cursor = current.next_cursor


class AsyncExecutor:
    """Runs calls on an ``httpx.AsyncClient``, awaiting between retries."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    async def run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.send(call.request(self.http))
            except httpx.TransportError as error:
                wait = self.retry.after_error(attempt, call.idempotent)
                if wait is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {error!r}") from error
                await asyncio.sleep(wait)
                continue
            wait = self.retry.after_response(attempt, response)
            if wait is None:
                return finish(call, response)
            await response.aclose()
            await asyncio.sleep(wait)

    async def iterate(self, page: Callable[[str | None], Call[Page[T]]], cursor: str | None) -> AsyncIterator[T]:
        """Every item of a cursor-paginated list, fetching the next page when the last one is used up."""
        while True:
            current = await self.run(page(cursor))
            for item in current.items:
                yield item
            if not current.next_cursor:
                return
            cursor = current.next_cursor
