"""The push channel's delivery: every device of the recipient in one batched FCM send, dead tokens removed,
and one outcome for the notification (docs/design.md §1)."""

from __future__ import annotations

import logging
from typing import Any

import google.auth.exceptions
from firebase_admin import exceptions
from prometheus_client import Counter

from common.channels import Channel
from delivery.outcome import Delivered, PermanentError, TransientError
from notification.v1 import notification_pb2 as pb
from push_worker.devices import DeviceRegistry
from push_worker.fcm import FcmClient
from push_worker.messages import build_messages, device_tokens
from push_worker.outcomes import TokenOutcome, TokenResult, classify
from push_worker.settings import PushWorkerSettings

logger = logging.getLogger(__name__)

DEVICE_OUTCOMES = Counter(
    "push_device_sends_total",
    "FCM sends to one device token, by result (delivered, dead, invalid, transient).",
    ["result"],
)
DEAD_DEVICES_REMOVED = Counter(
    "push_dead_devices_total", "Dead device tokens (UNREGISTERED, SENDER_ID_MISMATCH), by removal result.", ["removal"]
)


class PushDeliverer:
    """Sends a push envelope to each of the recipient's device tokens.

    The notification is delivered when at least one device accepted it. Otherwise a transient failure on any
    device makes the whole send transient (retried, with FCM's ``Retry-After``); an INVALID_ARGUMENT makes it
    permanent (``invalid_argument``); and when every token is dead it is permanent (``no_live_device``).
    """

    channel = Channel.PUSH

    def __init__(self, fcm: FcmClient, devices: DeviceRegistry) -> None:
        self._fcm = fcm
        self._devices = devices

    @classmethod
    def from_settings(cls, settings: PushWorkerSettings) -> PushDeliverer:
        """The deliverer ``python -m push_worker`` runs: firebase-admin from the service account (sending to
        ``FCM_ENDPOINT`` when set) and user_svc at ``USER_SERVICE_URL``."""
        return cls(
            FcmClient(str(settings.google_application_credentials), settings.fcm_endpoint),
            DeviceRegistry(
                settings.user_service_url,
                settings.user_service_internal_api_key,
                timeout_seconds=settings.user_service_timeout_seconds,
                tls=settings.grpc_tls,
            ),
        )

    async def deliver(self, envelope: pb.MessageEnvelope, attempt: int = 1) -> Delivered:
        """Send ``envelope`` (through FCM, the one provider, whatever the attempt); raise
        :class:`TransientError` or :class:`PermanentError` when no device got it."""
        tokens = device_tokens(envelope)
        if not tokens:
            raise PermanentError("the recipient has no device", reason="no_live_device", detail={"devices": []})
        outcomes = await self._send(envelope, tokens)
        detail = await self._record(envelope.user_id, outcomes)
        delivered = [o for o in outcomes if o.result is TokenResult.DELIVERED]
        if delivered:
            return Delivered(provider_message_id=delivered[0].message_id, detail=detail)
        transient = [o for o in outcomes if o.result is TokenResult.TRANSIENT]
        if transient:
            hints = [o.retry_after for o in transient if o.retry_after is not None]
            raise TransientError(_summary(transient), retry_after=max(hints) if hints else None, detail=detail)
        invalid = [o for o in outcomes if o.result is TokenResult.INVALID]
        if invalid:
            raise PermanentError(_summary(invalid), reason="invalid_argument", detail=detail)
        raise PermanentError("every device token of the recipient is dead", reason="no_live_device", detail=detail)

    async def _send(self, envelope: pb.MessageEnvelope, tokens: list[str]) -> list[TokenOutcome]:
        try:
            messages = build_messages(envelope, tokens)
        except ValueError as error:
            raise PermanentError(f"the push message is not valid: {error}", reason="invalid_message") from None
        try:
            responses = await self._fcm.send_each(messages)
        except (exceptions.FirebaseError, google.auth.exceptions.GoogleAuthError) as error:
            raise TransientError(f"FCM send failed: {error}", detail={"error": str(error)}) from None
        return [classify(token, response) for token, response in zip(tokens, responses, strict=True)]

    async def _record(self, user_id: str, outcomes: list[TokenOutcome]) -> dict[str, Any]:
        """Remove the dead tokens' devices; the per-token outcomes for the notification's history."""
        dead = [o.token for o in outcomes if o.result is TokenResult.DEAD]
        removals = await self._devices.remove_all(user_id, dead) if dead else {}
        devices = []
        for outcome in outcomes:
            DEVICE_OUTCOMES.labels(outcome.result.value).inc()
            entry = outcome.detail()
            if outcome.token in removals:
                DEAD_DEVICES_REMOVED.labels(removals[outcome.token].value).inc()
                entry["device"] = removals[outcome.token].value
            devices.append(entry)
        return {"devices": devices}

    async def close(self) -> None:
        """Close the FCM client and the channel to user_svc."""
        await self._fcm.close()
        await self._devices.close()


def _summary(outcomes: list[TokenOutcome]) -> str:
    first = outcomes[0]
    more = f" (and {len(outcomes) - 1} more)" if len(outcomes) > 1 else ""
    return f"FCM {first.error_code}: {first.error}{more}"
