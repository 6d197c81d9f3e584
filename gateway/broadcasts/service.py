"""Topic sends through the API: accept one (the gate's Idempotency-Key, the topic and template checked up front,
the ``broadcasts`` row written for the fan-out to claim), and a broadcast's status, list and cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from common.ids import new_notification_id
from common.log import request_id_var
from gateway.accepting import Accepted, check_times, fingerprint, run_admitted
from gateway.auth import Caller
from gateway.broadcasts.counters import CachedCounters
from gateway.broadcasts.store import BroadcastStore
from gateway.limits import Admission, SendGate, Verdict
from gateway.schemas.notifications import TopicSendRequest, content_send
from gateway.send import NotificationSender
from gateway.store import NotificationStore
from notification.v1 import notification_pb2 as pb

_NOBODY = uuid.UUID(int=0)
"""The recipient of the trial rendering that checks the template before any subscriber is read."""


def broadcast_url(broadcast_id: uuid.UUID) -> str:
    return f"/v1/broadcasts/{broadcast_id}"


class BroadcastService:
    """Accepts topic sends and answers for their broadcasts."""

    def __init__(
        self,
        gate: SendGate,
        sender: NotificationSender,
        broadcasts: BroadcastStore,
        notifications: NotificationStore,
        users: Any,
        timeout: float,
    ) -> None:
        self._gate = gate
        self._sender = sender
        self._broadcasts = broadcasts
        self._notifications = notifications
        self._users = users
        self._timeout = timeout
        self._counters = CachedCounters(broadcasts)

    async def accept(self, request: TopicSendRequest, caller: Caller, idempotency_key: str | None) -> Accepted:
        """Write the broadcast of ``request`` in the caller's application, or replay the response its
        Idempotency-Key got. Raises :class:`ProblemError`: 404 for an unknown topic or template, 422 for a
        template the request's variables cannot render."""
        check_times(request)
        admission = Admission(Verdict.ADMITTED, None)
        if idempotency_key is not None:
            application = str(caller.application_id)
            admission = await self._gate.claim(application, idempotency_key, fingerprint(request, idempotency_key))
        return await run_admitted(self._gate, admission, idempotency_key, lambda: self._create(request, caller))

    async def _create(self, request: TopicSendRequest, caller: Caller) -> tuple[bytes, dict[str, str]]:
        application = str(caller.application_id)
        await self._users.GetTopic(
            pb.GetTopicRequest(application_id=application, key=request.to.topic), timeout=self._timeout
        )
        trial = pb.NotificationProfile(user_id=str(_NOBODY))
        await self._sender.render(content_send(request, _NOBODY, request.variables), application, trial)
        broadcast_id = new_notification_id()
        content = request.model_dump(mode="json", exclude={"to"})
        await self._broadcasts.create(
            broadcast_id,
            caller.application_id,
            request.to.topic,
            content,
            test_mode=caller.test_mode,
            request_id=request_id_var.get(),
            created_at=datetime.now(UTC),
        )
        payload = {
            "broadcast_id": str(broadcast_id),
            # with send_at, the fan-out writes each subscriber's notification `scheduled` for its time
            "status": "scheduled" if request.send_at is not None else "fanning_out",
            "status_url": broadcast_url(broadcast_id),
        }
        return orjson.dumps(payload), {}

    async def get(self, application_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, Any] | None:
        """The broadcast with its counters (at most a second old), or None when the application has none such."""
        found = await self._broadcasts.get(application_id, broadcast_id)
        return {**found, **await self._counters.get(broadcast_id)} if found else None

    async def page(
        self, application_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
        """The application's broadcasts newest first, each with its counters; the id to continue before."""
        items, last = await self._broadcasts.page(application_id, before=before, limit=limit)
        return [{**item, **await self._counters.get(item["id"])} for item in items], last

    async def cancel(self, application_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, Any] | None:
        """Cancel the broadcast: its fan-out stops at its next page, and its rows no worker has claimed are
        cancelled. The broadcast afterwards, or None when the application has none such."""
        found = await self._broadcasts.cancel(application_id, broadcast_id)
        if found is None:
            return None
        await self._notifications.cancel_broadcast(application_id, broadcast_id)
        return {**found, **await self._broadcasts.count(broadcast_id)}
