"""Webhooks as a client sees them: endpoints managed through the gateway's REST routes, deliveries read back from
the dev webhook receiver (which verifies each signature with the secrets it is told). Nothing here touches a
database or a queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.api import POLL_SECONDS, unique


@dataclass
class Receiver:
    """The dev webhook receiver's control routes."""

    http: httpx.AsyncClient

    def url(self, path: str) -> str:
        """The address of ``path`` (``/hooks/...``) on the receiver, as an endpoint's URL."""
        return f"{self.http.base_url}".rstrip("/") + path

    async def trust(self, path: str, secret: str) -> None:
        """Verify deliveries under ``path`` with ``secret`` too."""
        (await self.http.post("/secrets", json={"path_prefix": path, "secret": secret})).raise_for_status()

    async def behave(
        self, path: str, *, status: int = 204, delay_seconds: float = 0.0, times: int | None = None
    ) -> None:
        """Answer deliveries under ``path`` with ``status`` after ``delay_seconds`` (``times``: that many)."""
        rule: dict[str, Any] = {"path_prefix": path, "status": status, "delay_seconds": delay_seconds}
        if times is not None:
            rule["times"] = times
        (await self.http.post("/behaviours", json=rule)).raise_for_status()

    async def behave_normally(self, path: str) -> None:
        """Drop the failure or delay rules of ``path``."""
        (await self.http.delete("/behaviours", params={"path_prefix": path})).raise_for_status()

    async def deliveries(self, path: str, **filters: str) -> list[dict[str, Any]]:
        """What arrived under ``path``, oldest first (``webhook_id=``, ``type=`` filter)."""
        response = await self.http.get("/deliveries", params={"path_prefix": path, **filters})
        response.raise_for_status()
        return list(response.json())

    async def stats(self, path: str | None = None) -> dict[str, Any]:
        response = await self.http.get("/deliveries/stats", params={"path_prefix": path} if path else None)
        response.raise_for_status()
        return dict(response.json())

    async def wait_for(
        self,
        path: str,
        enough: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 20.0,
        what: str = "deliveries",
    ) -> list[dict[str, Any]]:
        """Poll the deliveries under ``path`` until ``enough`` of them arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.deliveries(path)
            if enough(found):
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [(item["type"], item["answer"]) for item in found]
                raise AssertionError(f"{what} under {path} did not arrive within {timeout}s; got {seen}")
            await asyncio.sleep(POLL_SECONDS)


def of_type(event_type: str, notification_id: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A test of one recorded delivery: this event type (about this notification, when given)."""

    def matches(delivery: dict[str, Any]) -> bool:
        if delivery["type"] != event_type:
            return False
        return notification_id is None or body(delivery)["data"].get("notification_id") == notification_id

    return matches


def body(delivery: dict[str, Any]) -> dict[str, Any]:
    """A recorded delivery's decoded JSON body."""
    return dict(json.loads(delivery["body"]))


@dataclass
class Webhooks:
    """The gateway's webhook routes (scope ``webhooks:manage``)."""

    http: httpx.AsyncClient

    async def create(self, url: str, events: list[str]) -> dict[str, Any]:
        """A new endpoint (201), with its secret."""
        response = await self.http.post("/v1/webhooks", json={"url": url, "events": events, "description": "e2e"})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def get(self, endpoint_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/webhooks/{endpoint_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def delete(self, endpoint_id: str) -> None:
        response = await self.http.delete(f"/v1/webhooks/{endpoint_id}")
        assert response.status_code in (204, 404), response.text

    async def rotate(self, endpoint_id: str) -> str:
        """A new secret; the old one still signs for the overlap."""
        response = await self.http.post(f"/v1/webhooks/{endpoint_id}/rotate-secret")
        assert response.status_code in (200, 201), response.text
        return str(response.json()["secret"])

    async def deliveries(self, endpoint_id: str, **query: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/v1/webhooks/{endpoint_id}/deliveries", params=query)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def retry(self, endpoint_id: str, delivery_id: str) -> None:
        response = await self.http.post(f"/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")
        assert response.status_code == 202, response.text

    async def wait_for_delivery(self, endpoint_id: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the endpoint's history until a delivery has ``status``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.deliveries(endpoint_id)
            chosen = [item for item in found if item["status"] == status]
            if chosen:
                return chosen[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no delivery of {endpoint_id} became {status} within {timeout}s: {found}")
            await asyncio.sleep(POLL_SECONDS)


def hook_path(prefix: str = "e2e") -> str:
    """A receiver path no other test uses."""
    return f"/hooks/{unique(prefix)}"
