"""The two clients: :class:`Client` blocks, :class:`AsyncClient` awaits. Both hold the same resources
(``client.notifications.send(...)``), defined once in :mod:`notify_client.resources`."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Generic, Self

import httpx

from notify_client._endpoints import Async, ModeT, Sync
from notify_client._transport import AsyncExecutor, SyncExecutor, credential_headers
from notify_client.resources import (
    Applications,
    Auth,
    Broadcasts,
    Categories,
    DeadLetters,
    Notifications,
    Operations,
    SendingDomains,
    Suppressions,
    Templates,
    Topics,
    Users,
    Webhooks,
)
from notify_client.retry import RetryPolicy

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
BASE_URL_ENV = "NOTIFY_BASE_URL"
API_KEY_ENV = "NOTIFY_API_KEY"


class _Resources(Generic[ModeT]):
    """Every resource, bound to one executor."""

    def __init__(self, executor: SyncExecutor | AsyncExecutor) -> None:
        self.notifications: Notifications[ModeT] = Notifications(executor)
        self.broadcasts: Broadcasts[ModeT] = Broadcasts(executor)
        self.users: Users[ModeT] = Users(executor)
        self.auth: Auth[ModeT] = Auth(executor)
        self.templates: Templates[ModeT] = Templates(executor)
        self.categories: Categories[ModeT] = Categories(executor)
        self.sending_domains: SendingDomains[ModeT] = SendingDomains(executor)
        self.topics: Topics[ModeT] = Topics(executor)
        self.suppressions: Suppressions[ModeT] = Suppressions(executor)
        self.webhooks: Webhooks[ModeT] = Webhooks(executor)
        self.applications: Applications[ModeT] = Applications(executor)
        self.dead_letters: DeadLetters[ModeT] = DeadLetters(executor)
        self.operations: Operations[ModeT] = Operations(executor)


def _options(
    base_url: str | None,
    api_key: str | None,
    token: str | None,
    application_id: str | None,
    timeout: float,
    http_options: dict[str, Any],
) -> dict[str, Any]:
    """The httpx client's options. Without arguments the base URL and key come from ``NOTIFY_BASE_URL`` and
    ``NOTIFY_API_KEY``, as the CLI reads them."""
    if api_key is None and token is None:
        api_key = os.environ.get(API_KEY_ENV)
    return {
        "base_url": base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
        "headers": credential_headers(api_key, token, application_id),
        "timeout": timeout,
        **http_options,
    }


class Client(_Resources[Sync]):
    """The blocking client. ``api_key`` (``X-API-Key``) for applications and the operator, ``token`` for an end
    user's bearer token; ``application_id`` is where the operator's key acts. ``http_options`` go to
    ``httpx.Client`` (e.g. ``transport``, ``verify``). Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        application_id: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **http_options: Any,
    ) -> None:
        self.http = httpx.Client(**_options(base_url, api_key, token, application_id, timeout, http_options))
        super().__init__(SyncExecutor(self.http, retry or RetryPolicy()))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Resources[Async]):
    """The async client: the same resources as :class:`Client`, every call awaited, lists iterated with
    ``async for``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        application_id: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **http_options: Any,
    ) -> None:
        self.http = httpx.AsyncClient(**_options(base_url, api_key, token, application_id, timeout, http_options))
        super().__init__(AsyncExecutor(self.http, retry or RetryPolicy()))

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()
