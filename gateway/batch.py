"""``POST /v1/notifications/batch`` once the request is read and its caller known (docs/design.md §7 "Later and
many"): one Idempotency-Key claim for the whole batch, the recipients' profiles (cached, the misses in one
GetNotificationProfiles call), every recipient rendered (a template error fails the whole batch before any
token is taken), one rate-limit gate call per recipient (in one pipeline), then the page writer: one
INSERT for every row, windowed confirmed publishes. Items answer in request order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Container, Sequence
from typing import Any

import orjson

from common.ids import new_notification_id
from common.log import request_id_var
from gateway.accepting import Accepted, check_times, fingerprint, run_admitted
from gateway.auth import Caller
from gateway.errors import ProblemError
from gateway.limits import Admission, SendGate, Verdict
from gateway.pages import PageRefused, PageRow, PageWriter
from gateway.profiles import ProfileCache
from gateway.schemas.notifications import BatchRecipient, BatchRequest, SendRequest, content_send
from gateway.send import NotificationSender
from notification.v1 import notification_pb2 as pb

REJECTED = "rejected"
USER_NOT_FOUND = "user_not_found"
DUPLICATE = "duplicate"
RATE_LIMITED = "rate_limited"


def recipient_send(batch: BatchRequest, recipient: BatchRecipient) -> SendRequest:
    """The single send the batch makes to ``recipient``: its variables merged over the batch's one level deep,
    the recipient's winning."""
    return content_send(batch, recipient.user_id, {**batch.variables, **recipient.variables})


def _item(user_id: uuid.UUID, notification_id: uuid.UUID | None, status: str, reason: str | None) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "notification_id": str(notification_id) if notification_id else None,
        "status": status,
        "reason": reason,
    }


def _items(
    request: BatchRequest,
    found: Container[str],
    rows: dict[str, PageRow],
    stored: Sequence[tuple[str, str | None]],
) -> list[dict[str, Any]]:
    """The answer's item of each recipient, in request order: the first mention of a user that was ``found``
    and written (``rows``, stored as ``stored``) has its notification; every other mention is rejected."""
    outcomes = dict(zip(rows, stored, strict=True))
    items = []
    seen: set[str] = set()
    for recipient in request.recipients:
        user_id = str(recipient.user_id)
        if user_id in seen:
            items.append(_item(recipient.user_id, None, REJECTED, DUPLICATE))
        elif user_id not in found:
            items.append(_item(recipient.user_id, None, REJECTED, USER_NOT_FOUND))
        elif user_id not in rows:
            items.append(_item(recipient.user_id, None, REJECTED, RATE_LIMITED))
        else:
            status, reason = outcomes[user_id]
            items.append(_item(recipient.user_id, rows[user_id].notification.id, status, reason))
        seen.add(user_id)
    return items


class BatchService:
    """Admits a batch through the gate and writes its recipients' notifications as one page."""

    def __init__(self, gate: SendGate, sender: NotificationSender, profiles: ProfileCache, writer: PageWriter) -> None:
        self._gate = gate
        self._sender = sender
        self._profiles = profiles
        self._writer = writer

    async def accept(self, request: BatchRequest, caller: Caller, idempotency_key: str | None) -> Accepted:
        """Send ``request`` to each recipient in the caller's application, or replay the response its
        Idempotency-Key got. Raises :class:`ProblemError` for a refusal of the whole batch."""
        check_times(request)
        admission = Admission(Verdict.ADMITTED, None)
        if idempotency_key is not None:
            application = str(caller.application_id)
            admission = await self._gate.claim(application, idempotency_key, fingerprint(request, idempotency_key))
        return await run_admitted(self._gate, admission, idempotency_key, lambda: self._send(request, caller))

    async def _send(self, request: BatchRequest, caller: Caller) -> tuple[bytes, dict[str, str]]:
        application = str(caller.application_id)
        firsts: dict[str, BatchRecipient] = {}
        for recipient in request.recipients:
            firsts.setdefault(str(recipient.user_id), recipient)  # a later one is a duplicate
        profiles, _ = await self._profiles.get_many(application, list(firsts))
        sends = {user_id: recipient_send(request, first) for user_id, first in firsts.items() if user_id in profiles}
        rendered = await self._render(sends, application, profiles)
        admitted, rate = await self._gate.admit_each(
            application, list(sends), application_limit=caller.rate_limit_per_minute
        )
        batch_id = new_notification_id()
        rows: dict[str, PageRow] = {
            user_id: self._sender.row(
                send,
                caller.application_id,
                profiles[user_id],
                rendered[user_id],
                request_id_var.get(),
                test_mode=caller.test_mode,
                batch_id=batch_id,
            )
            for (user_id, send), ok in zip(sends.items(), admitted, strict=True)
            if ok
        }
        try:
            stored = await self._writer.write(list(rows.values()))
        except PageRefused:
            raise ProblemError(
                503, "the message broker did not accept the notifications; nothing was queued, retry later"
            ) from None
        payload = orjson.dumps({"batch_id": str(batch_id), "items": _items(request, profiles, rows, stored)})
        return payload, rate.headers() if rate else {}

    async def _render(
        self, sends: dict[str, SendRequest], application: str, profiles: dict[str, pb.NotificationProfile]
    ) -> dict[str, pb.RenderTemplateResponse]:
        """Every recipient's rendering; the first recipient's (in request order) that fails fails the batch."""
        results = await asyncio.gather(
            *(self._sender.render(send, application, profiles[user_id]) for user_id, send in sends.items()),
            return_exceptions=True,
        )
        rendered: dict[str, pb.RenderTemplateResponse] = {}
        for user_id, result in zip(sends, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            rendered[user_id] = result
        return rendered
