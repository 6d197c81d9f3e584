"""The send use case once the request is read and its caller known (docs/design.md §1): the gate, the send, the
stored response. It answers with a value and raises :class:`ProblemError` for a refusal, so the route alone speaks
HTTP."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import orjson

from common.log import request_id_var
from gateway.auth import Caller
from gateway.errors import ProblemError, rpc_problem
from gateway.limits import IdempotencyClaim, SendGate, Verdict, body_hash, canonical_json
from gateway.problem_types import ProblemType
from gateway.schemas.notifications import SendRequest
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


class SendService:
    """Admits a send through the gate (rate limits, Idempotency-Key) and hands it to the sender."""

    def __init__(self, gate: SendGate, sender: NotificationSender) -> None:
        self._gate = gate
        self._sender = sender

    async def accept(self, request: SendRequest, caller: Caller, idempotency_key: str | None) -> Accepted:
        """Send ``request`` in the caller's application, or replay the response its Idempotency-Key got.
        Raises :class:`ProblemError` (with the rate-limit headers) for a refusal."""
        if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
            raise ProblemError.field("expires_at", "is in the past")
        fingerprint = ""
        if idempotency_key is not None:
            fingerprint = body_hash(canonical_json(request.model_dump(mode="json")))
        admission = await self._gate.admit(
            str(caller.application_id),
            str(request.user_id),
            idempotency_key,
            fingerprint,
            application_limit=caller.rate_limit_per_minute,
        )
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
            with self._gate.kept(claim):
                outcome = await self._sender.send(
                    request, caller.application_id, request_id_var.get(), test_mode=caller.test_mode
                )
        except BaseException as error:
            if claim is not None:
                await self._release(claim)
            if isinstance(error, grpc.aio.AioRpcError):
                error = rpc_problem(error)
            if isinstance(error, ProblemError):
                error.headers = {**headers, **error.headers}
                raise error from None
            raise
        payload = orjson.dumps(
            {
                "notification_id": str(outcome.notification_id),
                "status": outcome.status,
                "status_url": status_url(outcome.notification_id),
                "reason": outcome.reason,
            }
        )
        if claim is not None:
            try:
                await self._gate.complete(claim, payload)
            except Exception:
                logger.warning("could not store the response of Idempotency-Key %r", idempotency_key, exc_info=True)
        return Accepted(payload, headers)

    async def _release(self, claim: IdempotencyClaim) -> None:
        try:
            await self._gate.release(claim)
        except Exception:
            logger.warning("could not release an idempotency claim; it expires on its own", exc_info=True)
