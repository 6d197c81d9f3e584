"""The console's only way in: the gateway's REST API, called in process (ASGI transport) with the signed-in key.
Every write goes through :meth:`ApiClient.write`, which records it in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from common.log import request_id_var
from gateway.console.audit import AuditLog
from gateway.console.sessions import Session

SIGN_IN_PROBE = "/v1/auth/whoami"
APPLICATION_HEADER = "X-Application-Id"


@dataclass(frozen=True, slots=True)
class ApiReply:
    """An API answer: its status and its JSON body (``{}`` when it had none)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> str:
        """The problem's detail (or title) for an error page or flash message."""
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or self.status)
        return str(self.status)


async def call_api(
    http: httpx.AsyncClient,
    api_key: str,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    application_id: str | None = None,
) -> ApiReply:
    """One API request with ``api_key`` (acting in ``application_id`` when given: the operator's key), under the
    console request's correlation id."""
    headers = {"X-API-Key": api_key}
    if application_id:
        headers[APPLICATION_HEADER] = application_id
    request_id = request_id_var.get(None)
    if request_id:
        headers["X-Request-ID"] = request_id
    clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    response = await http.request(method, path, params=clean, json=json, headers=headers)
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    return ApiReply(response.status_code, body)


class ApiClient:
    """The API as one signed-in session sees it."""

    def __init__(self, http: httpx.AsyncClient, session: Session, audit: AuditLog) -> None:
        self._http = http
        self._session = session
        self._audit = audit

    async def get(self, path: str, **params: Any) -> ApiReply:
        return await call_api(
            self._http, self._session.api_key, "GET", path, params=params, application_id=self._acting
        )

    @property
    def _acting(self) -> str | None:
        return self._session.acting_in if self._session.admin else None

    async def read(self, method: str, path: str, json: Any = None) -> ApiReply:
        """A request that changes nothing though it is not a GET (a preview's render): not audited."""
        return await call_api(self._http, self._session.api_key, method, path, json=json, application_id=self._acting)

    async def write(
        self,
        method: str,
        path: str,
        *,
        action: str,
        target: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> ApiReply:
        """A change, audited with its outcome whatever it was (``action`` names it, e.g. ``template.activate``)."""
        try:
            reply = await call_api(
                self._http, self._session.api_key, method, path, params=params, json=json, application_id=self._acting
            )
        except Exception as error:
            await self._record(action, target, f"error {type(error).__name__}")
            raise
        await self._record(action, target, f"{reply.status} {'ok' if reply.ok else reply.problem}")
        return reply

    async def _record(self, action: str, target: str, outcome: str) -> None:
        await self._audit.record(
            who=self._session.who,
            application_id=self._session.application_id,
            action=action,
            target=target,
            outcome=outcome[:300],
        )


def segment(value: str) -> str:
    """``value`` as one path segment of an API path (slashes and dots escaped, so it names nothing else)."""
    return quote(value, safe="").replace(".", "%2E")
