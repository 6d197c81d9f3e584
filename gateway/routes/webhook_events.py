"""The OpenAPI document's ``webhooks`` section: what the system POSTs to a registered endpoint for each event
type, with the three Standard Webhooks headers (docs/api.md "Webhooks"). Documentation only: nothing is served."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from starlette.responses import Response

from common.webhook_events import NOTIFICATION_STATUSES, TEST_EVENT
from gateway.schemas.webhook_events import (
    BroadcastCompletedBody,
    EmailComplainedBody,
    EmailUnsubscribedBody,
    NotificationEventBody,
    WebhookTestBody,
)

router = APIRouter(tags=["webhooks"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Success: any 2xx within 10 s (the body is not read past 64 KiB)."},
    "default": {"description": "Anything else, a redirect or no answer within 10 s, fails the attempt: it is retried."},
}


async def _signed(
    webhook_id: Annotated[
        str, Header(alias="webhook-id", description="The delivery's id: the same on every attempt; dedupe on it.")
    ],
    webhook_timestamp: Annotated[
        int, Header(alias="webhook-timestamp", description="Unix seconds of this attempt; refuse one over 5 min off.")
    ],
    webhook_signature: Annotated[
        str,
        Header(
            alias="webhook-signature",
            description='`v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, several separated'
            " by spaces while a rotated secret is in its 24 h overlap: accept the delivery when one matches.",
        ),
    ],
) -> None:
    """The headers every delivery carries (Standard Webhooks)."""


async def notification_changed(body: NotificationEventBody) -> None:
    """The notification as `GET /v1/notifications/{id}` showed it when its status changed, and the change."""


async def broadcast_completed(body: BroadcastCompletedBody) -> None:
    """A topic send's fan-out is done; its counters as `GET /v1/broadcasts/{id}` showed them then."""


async def email_unsubscribed(body: EmailUnsubscribedBody) -> None:
    """A user used an email's one-click unsubscribe link: they get no more email of that category."""


async def email_complained(body: EmailComplainedBody) -> None:
    """A recipient reported an email as spam: the address gets no more non-transactional email."""


async def webhook_test(body: WebhookTestBody) -> None:
    """Sent by `POST /v1/webhooks/{id}/test`, whatever the endpoint subscribes to."""


def _add(event_type: str, receiver: Any, summary: str) -> None:
    router.add_api_route(
        event_type,
        receiver,
        methods=["POST"],
        summary=summary,
        dependencies=[Depends(_signed)],
        responses=RESPONSES,
        response_class=Response,
        operation_id="receive_" + event_type.replace(".", "_"),
    )


for _status in NOTIFICATION_STATUSES:
    _add(f"notification.{_status}", notification_changed, f"A notification became {_status}")
_add("broadcast.completed", broadcast_completed, "A broadcast is done")
_add("email.unsubscribed", email_unsubscribed, "A user unsubscribed from a category")
_add("email.complained", email_complained, "A recipient complained")
_add(TEST_EVENT, webhook_test, "A test delivery")
