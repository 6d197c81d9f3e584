"""``/v1/webhooks``: the endpoints an application's events are posted to, and their deliveries (docs/api.md
"Webhooks", docs/design.md §7). Scope ``webhooks:manage``; another application's endpoint is 404."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from common.webhook_events import TEST_EVENT, delivery_body
from common.webhook_signature import new_secret
from gateway.auth import Caller
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.routes.notifications import decode_cursor, encode_cursor
from gateway.schemas.notifications import Rfc3339
from gateway.schemas.webhooks import (
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    DeliverySummary,
    Replayed,
    ReplayRequest,
    SecretRotated,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookUpdate,
)
from gateway.scopes import Scope
from gateway.webhooks.store import MAX_ENDPOINTS_PER_APPLICATION, Endpoint, EndpointChange, EndpointLimitReached
from gateway.webhooks.urls import check_url

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Manager = Annotated[Caller, requires(Scope.WEBHOOKS_MANAGE)]
WebhookId = Annotated[uuid.UUID, Path(description="The endpoint's id.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id (its `webhook-id` header).")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")]
DISABLED = "The endpoint is disabled: enable it first (`PATCH` with `enabled: true`)."
TEST_MESSAGE = "A test delivery, sent by POST /v1/webhooks/{id}/test."


def _not_found(webhook_id: uuid.UUID) -> ProblemError:
    return ProblemError(404, f"webhook {webhook_id} does not exist")


def _view(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint as the API shows it."""
    fields = dataclasses.asdict(endpoint)
    fields["previous_secret_expires_at"] = fields.pop("previous_secret_until")
    return fields


async def _endpoint(resources: Resources, caller: Caller, webhook_id: uuid.UUID) -> Endpoint:
    """The caller's endpoint; 404 for another application's, as for an unknown one."""
    found = await resources.webhooks.get(caller.application_id, webhook_id)
    if found is None:
        raise _not_found(webhook_id)
    return found


async def _enabled_endpoint(resources: Resources, caller: Caller, webhook_id: uuid.UUID) -> Endpoint:
    """The caller's endpoint, which must be enabled to be sent anything (409 otherwise)."""
    endpoint = await _endpoint(resources, caller, webhook_id)
    if not endpoint.enabled:
        raise ProblemError(409, f"webhook {webhook_id} is disabled; enable it first")
    return endpoint


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a webhook endpoint",
    responses=problems(
        *AUTHENTICATED,
        *WITH_BODY,
        409,
        descriptions={
            409: f"The application has {MAX_ENDPOINTS_PER_APPLICATION} endpoints already (`webhook-limit-reached`).",
            422: "A field failed validation: an unknown event type, or a URL the system will not call (`errors`).",
        },
    ),
)
async def create_webhook(body: WebhookCreate, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """A new endpoint, enabled. Its `secret` is in this response (and a rotation's) only: store it now."""
    await check_url(body.url, allow_private=resources.settings.webhook_allow_private)
    secret = new_secret()
    try:
        created = await resources.webhooks.create(
            caller.application_id, body.url, body.events, body.description, secret
        )
    except EndpointLimitReached:
        raise ProblemError(
            409,
            f"an application has at most {MAX_ENDPOINTS_PER_APPLICATION} webhook endpoints; delete one first",
            kind=ProblemType.WEBHOOK_LIMIT_REACHED,
        ) from None
    return {**_view(created), "secret": secret}


@router.get("", response_model=WebhookPage, summary="List webhook endpoints", responses=problems(*AUTHENTICATED))
async def list_webhooks(
    caller: Manager, resources: ResourcesDep, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    """The application's endpoints, oldest first, one page at a time; never a secret."""
    after = decode_cursor(cursor) if cursor else None
    found = await resources.webhooks.page(caller.application_id, after, limit + 1)
    page = found[:limit]
    return {
        "items": [_view(endpoint) for endpoint in page],
        "next_cursor": encode_cursor(page[-1].id) if len(found) > limit else None,
    }


@router.get(
    "/{webhook_id}", response_model=Webhook, summary="Get a webhook endpoint", responses=problems(*AUTHENTICATED, 404)
)
async def get_webhook(webhook_id: WebhookId, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """One endpoint, without its secret."""
    return _view(await _endpoint(resources, caller, webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=Webhook,
    summary="Change a webhook endpoint",
    responses=problems(
        *AUTHENTICATED,
        *WITH_BODY,
        404,
        descriptions={422: "A field failed validation: an unknown event type, or a URL the system will not call."},
    ),
)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, caller: Manager, resources: ResourcesDep
) -> dict[str, Any]:
    """Change its URL, events, description, or enable or disable it. Enabling it clears its failure streak, so a
    disabled endpoint gets a fresh 3 days; deliveries that failed meanwhile can then be replayed."""
    if body.url is not None:
        await check_url(body.url, allow_private=resources.settings.webhook_allow_private)
    change = EndpointChange(
        url=body.url,
        events=body.events,
        description_given="description" in body.model_fields_set,
        description=body.description,
        enabled=body.enabled,
    )
    updated = await resources.webhooks.update(caller.application_id, webhook_id, change)
    if updated is None:
        raise _not_found(webhook_id)
    return _view(updated)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    responses=problems(*AUTHENTICATED, 404),
)
async def delete_webhook(webhook_id: WebhookId, caller: Manager, resources: ResourcesDep) -> Response:
    """Delete the endpoint and its delivery history; nothing more is sent to it."""
    if not await resources.webhooks.delete(caller.application_id, webhook_id):
        raise _not_found(webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=SecretRotated,
    summary="Rotate a webhook endpoint's secret",
    responses=problems(*AUTHENTICATED, 404),
)
async def rotate_secret(webhook_id: WebhookId, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """A new secret, shown only here. For 24 h every delivery carries two signatures, one with each secret, so
    receivers can switch over at their pace; a second rotation within that time drops the oldest secret."""
    secret = new_secret()
    until = await resources.webhooks.rotate_secret(caller.application_id, webhook_id, secret)
    if until is None:
        raise _not_found(webhook_id)
    return {"secret": secret, "previous_secret_expires_at": until}


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=DeliverySummary,
    summary="Send a test event",
    responses=problems(*AUTHENTICATED, 404, 409, descriptions={409: DISABLED}),
)
async def test_webhook(webhook_id: WebhookId, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """Queue a `webhook.test` delivery to the endpoint now (whatever events it subscribes to); follow it in its
    deliveries."""
    await _enabled_endpoint(resources, caller, webhook_id)
    now = datetime.now(UTC)
    body = delivery_body(TEST_EVENT, {"webhook_id": str(webhook_id), "message": TEST_MESSAGE}, now)
    added = await resources.webhooks.add_delivery(caller.application_id, webhook_id, TEST_EVENT, body, now)
    if added is None:  # deleted meanwhile
        raise _not_found(webhook_id)
    return added


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="List a webhook endpoint's deliveries",
    responses=problems(*AUTHENTICATED, 404),
)
async def list_deliveries(
    webhook_id: WebhookId,
    caller: Manager,
    resources: ResourcesDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status.")] = None,
    after: Annotated[Rfc3339 | None, Query(description="Only deliveries created after this time (RFC 3339).")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The endpoint's deliveries of the last 30 days, newest first, one page at a time."""
    await _endpoint(resources, caller, webhook_id)
    before = decode_cursor(cursor) if cursor else None
    found = await resources.webhooks.deliveries(
        caller.application_id, webhook_id, status=status, created_after=after, before=before, limit=limit + 1
    )
    page = found[:limit]
    more = len(found) > limit
    return {"items": page, "next_cursor": encode_cursor(page[-1]["id"]) if more else None}


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=Delivery,
    summary="Get a delivery",
    responses=problems(*AUTHENTICATED, 404),
)
async def get_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, caller: Manager, resources: ResourcesDep
) -> dict[str, Any]:
    """One delivery, with the exact body posted and the last error."""
    found = await resources.webhooks.delivery(caller.application_id, webhook_id, delivery_id)
    if found is None:
        raise ProblemError(404, f"delivery {delivery_id} of webhook {webhook_id} does not exist")
    return {**found, "body": bytes(found["body"]).decode()}


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliverySummary,
    summary="Retry a delivery now",
    responses=problems(*AUTHENTICATED, 404, 409, descriptions={409: DISABLED}),
)
async def retry_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, caller: Manager, resources: ResourcesDep
) -> dict[str, Any]:
    """Send the delivery again now, with the same id and body. A `succeeded` or `failed` one becomes `pending`;
    one still waiting on its retry ladder is made due now. An attempt may already be in flight: the endpoint
    can then receive the delivery twice, with the same `webhook-id`."""
    await _enabled_endpoint(resources, caller, webhook_id)
    retried = await resources.webhooks.retry(caller.application_id, webhook_id, delivery_id)
    if retried is None:
        raise ProblemError(404, f"delivery {delivery_id} of webhook {webhook_id} does not exist")
    return retried


@router.post(
    "/{webhook_id}/replay",
    status_code=202,
    response_model=Replayed,
    summary="Send past events again",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409, descriptions={409: DISABLED}),
)
async def replay(
    webhook_id: WebhookId, body: ReplayRequest, caller: Manager, resources: ResourcesDep
) -> dict[str, Any]:
    """Send every event since `since` again (recovery after an outage of the receiver): the endpoint's
    `succeeded` and `failed` deliveries of those events go back to `pending`, with their ids; ones not final yet
    are on their way already."""
    await _enabled_endpoint(resources, caller, webhook_id)
    return {"replayed": await resources.webhooks.replay(caller.application_id, webhook_id, body.since)}
