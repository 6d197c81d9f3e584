"""What the end-to-end tests do through REST, and how they look at the dev sinks: a client of the gateway with
the dev API key, helpers that create users and templates, send, and poll, and readers of the SMTP sink's and
the FCM server's HTTP listings. Nothing here touches a database or a queue."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from common.settings import DEV_GATEWAY_API_KEY

FINAL_STATUSES = frozenset({"delivered", "failed", "skipped"})
POLL_SECONDS = 0.05


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: ``prefix-<12 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Api:
    """The gateway as a client sees it."""

    http: httpx.AsyncClient

    async def create_user(
        self, *, name: str = "Ada Lovelace", email: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A new user (201); the address is unique unless given."""
        body = {"name": name, "email": email or f"{unique('ada')}@example.com", "password": "correct-horse", **fields}
        response = await self.http.post("/v1/users", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def add_device(self, user_id: str, token: str, platform: str = "android") -> None:
        response = await self.http.post(f"/v1/users/{user_id}/devices", json={"token": token, "platform": platform})
        assert response.status_code == 201, response.text

    async def create_template(self, **body: Any) -> dict[str, Any]:
        """A new template (201)."""
        response = await self.http.post("/v1/templates", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def send(self, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        """``POST /v1/notifications/send`` as it is; the caller checks the answer."""
        return await self.http.post("/v1/notifications/send", json=body, headers=headers)

    async def send_queued(self, **body: Any) -> str:
        """Send and insist on 202 ``queued``; returns the notification id."""
        response = await self.send(**body)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued", response.text
        return str(response.json()["notification_id"])

    async def status(self, notification_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/notifications/{notification_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def events(self, notification_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/v1/notifications/{notification_id}/events")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def wait_for_status(
        self, notification_id: str, expected: str | None = None, timeout: float = 15.0
    ) -> dict[str, Any]:
        """Poll until the notification reaches ``expected`` (default: any final status); fails with the last
        status and its history otherwise."""
        wanted = {expected} if expected else FINAL_STATUSES
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.status(notification_id)
            if found["status"] in wanted:
                return found
            if found["status"] in FINAL_STATUSES - wanted or asyncio.get_running_loop().time() > deadline:
                history = await self.events(notification_id)
                raise AssertionError(f"{notification_id} is {found['status']}, not {expected}: {found}\n{history}")
            await asyncio.sleep(POLL_SECONDS)


@dataclass
class Mailbox:
    """The SMTP sink's HTTP listing."""

    http: httpx.AsyncClient

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get("/messages", params={"recipient": recipient} if recipient else None)
        response.raise_for_status()
        return list(response.json())

    async def wait_for(self, recipient: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """At least ``count`` messages for ``recipient``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.messages(recipient)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} of {count} emails for {recipient} arrived within {timeout}s")
            await asyncio.sleep(POLL_SECONDS)

    async def fail(self, recipient: str, code: int, times: int | None = None) -> None:
        """Refuse ``recipient`` at RCPT with ``code`` (``times`` attempts, or until :meth:`clear_failures`)."""
        body: dict[str, Any] = {"recipient": recipient, "code": code}
        if times is not None:
            body["times"] = times
        (await self.http.post("/failures", json=body)).raise_for_status()

    async def clear_failures(self) -> None:
        (await self.http.delete("/failures")).raise_for_status()


@dataclass
class PushServer:
    """The local FCM server's record of accepted messages."""

    http: httpx.AsyncClient

    async def messages(self, token: str) -> list[dict[str, Any]]:
        response = await self.http.get("/messages", params={"token": token})
        response.raise_for_status()
        return list(response.json())

    async def wait_for(self, token: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.messages(token)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} of {count} pushes for {token} arrived within {timeout}s")
            await asyncio.sleep(POLL_SECONDS)


def gateway_client(base_url: str, api_key: str = DEV_GATEWAY_API_KEY) -> httpx.AsyncClient:
    """An HTTP client of the gateway that authenticates as an application."""
    return httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": api_key}, timeout=15)
