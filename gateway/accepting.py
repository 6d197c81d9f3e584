"""The send use case once the request is read and its caller known (docs/design.md §1): the gate, the send, the
stored response. It answers with a value and raises :class:`ProblemError` for a refusal, so the route alone speaks
HTTP."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import orjson
from pydantic import BaseModel

from common.log import request_id_var
from gateway.auth import Caller
from gateway.errors import ProblemError, rpc_problem
from gateway.limits import Admission, IdempotencyClaim, SendGate, Verdict, body_hash, canonical_json
from gateway.problem_types import ProblemType
from gateway.scheduling.timing import check_send_at
from gateway.schemas.notifications import NotificationContent, SendRequest
from gateway.send import NotificationSender

logger = logging.getLogger(__name__)


def status_url(notification_id: uuid.UUID) -> str:
    return f"/v1/notifications/{notification_id}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted send: the JSON body of the 202, its rate-limit headers, and whether it replays the first
    response to its Idempotency-Key."""

    payload: bytes
    headers: dict[str, str]
    replayed: bool = False


Work = Callable[[], Awaitable[tuple[bytes, dict[str, str]]]]
"""The admitted request's work: the JSON body of its 202 and the headers it adds."""


def check_times(content: NotificationContent) -> None:
    """422 for an ``expires_at`` already past (nothing could be delivered) or a ``send_at`` no recipient could
    have; checked before the gate, so such a request takes no rate-limit token."""
    now = datetime.now(UTC)
    if content.expires_at is not None and content.expires_at <= now:
        raise ProblemError.field("expires_at", "is in the past")
    check_send_at(content, now)


def fingerprint(body: BaseModel, idempotency_key: str | None) -> str:
    """What the idempotency record keeps of the body: the hash of its canonical JSON; empty without a key."""
    return "" if idempotency_key is None else body_hash(canonical_json(body.model_dump(mode="json")))


async def run_admitted(gate: SendGate, admission: Admission, idempotency_key: str | None, work: Work) -> Accepted:
    """Answer the gate's verdict: run ``work`` when admitted (holding the key's claim, released if it fails,
    its response stored if it succeeds), replay the stored response, or raise the refusal's
    :class:`ProblemError` (with the rate-limit headers)."""
    headers = admission.headers()
    if admission.verdict is Verdict.RATE_LIMITED:
        headers["Retry-After"] = str(admission.retry_after_seconds)
        raise ProblemError(429, "rate limit reached; retry after Retry-After seconds", headers=headers)
    if admission.verdict is Verdict.REPLAY:
        assert admission.stored_response is not None
        return Accepted(admission.stored_response, headers, replayed=True)
    if admission.verdict is Verdict.KEY_REUSED:
        raise ProblemError(
            409,
            "this Idempotency-Key was used with a different body",
            headers=headers,
            kind=ProblemType.IDEMPOTENCY_KEY_REUSED,
        )
    if admission.verdict is Verdict.IN_FLIGHT:
        headers["Retry-After"] = "1"
        raise ProblemError(
            409,
            "a request with this Idempotency-Key is still being processed",
            headers=headers,
            kind=ProblemType.REQUEST_IN_FLIGHT,
        )

    claim = admission.claim
    try:
        with gate.kept(claim):
            payload, added = await work()
    except BaseException as error:
        if claim is not None:
            await _release(gate, claim)
        if isinstance(error, grpc.aio.AioRpcError):
            error = rpc_problem(error)
        if isinstance(error, ProblemError):
            error.headers = {**headers, **error.headers}
            raise error from None
        raise
    if claim is not None:
        try:
            await gate.complete(claim, payload)
        except Exception:
            logger.warning("could not store the response of Idempotency-Key %r", idempotency_key, exc_info=True)
    return Accepted(payload, {**headers, **added})


async def _release(gate: SendGate, claim: IdempotencyClaim) -> None:
    try:
        await gate.release(claim)
    except Exception:
        logger.warning("could not release an idempotency claim; it expires on its own", exc_info=True)


class SendService:
    """Admits a send through the gate (rate limits, Idempotency-Key) and hands it to the sender."""

    def __init__(self, gate: SendGate, sender: NotificationSender) -> None:
        self._gate = gate
        self._sender = sender

    async def accept(self, request: SendRequest, caller: Caller, idempotency_key: str | None) -> Accepted:
        """Send ``request`` in the caller's application, or replay the response its Idempotency-Key got.
        Raises :class:`ProblemError` (with the rate-limit headers) for a refusal."""
        check_times(request)
        admission = await self._gate.admit(
            str(caller.application_id),
            str(request.user_id),
            idempotency_key,
            fingerprint(request, idempotency_key),
            application_limit=caller.rate_limit_per_minute,
        )

        async def send() -> tuple[bytes, dict[str, str]]:
            outcome = await self._sender.send(
                request, caller.application_id, request_id_var.get(), test_mode=caller.test_mode
            )
            payload = orjson.dumps(
                {
                    "notification_id": str(outcome.notification_id),
                    "status": outcome.status,
                    "status_url": status_url(outcome.notification_id),
                    "reason": outcome.reason,
                }
            )
            return payload, {}

        return await run_admitted(self._gate, admission, idempotency_key, send)
