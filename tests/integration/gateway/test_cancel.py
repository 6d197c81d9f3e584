"""``POST /v1/notifications/{id}/cancel`` as a client sees it: a notification no worker has claimed becomes
``cancelled``, once (a second cancel answers the same); one a worker claimed, or a final one, is 409
``not-cancellable`` with the notification as it is; a row held by another transaction is 409 ``cancel-busy``
within about 2 s."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.rows import deliver, insert_queued
from tests.integration.gateway.test_edge import assert_problem


async def _with_status(gateway: Gateway, status: str) -> uuid.UUID:
    """A notification of the default application in ``status``, as the workers leave it."""
    notification_id, _ = await insert_queued(gateway.resources.store)
    await gateway.resources.store.pool.execute(
        "UPDATE notification_statuses SET status = $2, attempts = 1, "
        "lease_until = CASE WHEN $2 = 'sending' THEN now() + interval '1 minute' END WHERE id = $1",
        notification_id,
        status,
    )
    return notification_id


async def _cancel(gateway: Gateway, notification_id: uuid.UUID | str) -> tuple[int, dict]:
    response = await gateway.client.post(f"/v1/notifications/{notification_id}/cancel")
    return response.status_code, response.json()


async def _history(gateway: Gateway, notification_id: uuid.UUID) -> list[dict]:
    return (await gateway.client.get(f"/v1/notifications/{notification_id}/events")).json()["items"]


@pytest.mark.parametrize("status", ["scheduled", "queued", "retrying"])
async def test_an_unclaimed_notification_is_cancelled_once(gateway: Gateway, status: str) -> None:
    notification_id = await _with_status(gateway, status)

    code, body = await _cancel(gateway, notification_id)
    assert code == 200
    assert (body["notification_id"], body["status"], body["reason"]) == (
        str(notification_id),
        "cancelled",
        "cancelled_by_client",
    )
    assert (await gateway.client.get(f"/v1/notifications/{notification_id}")).json() == body

    again_code, again = await _cancel(gateway, notification_id)
    assert (again_code, again) == (200, body)
    cancels = [item for item in await _history(gateway, notification_id) if item["status"] == "cancelled"]
    assert [item["detail"] for item in cancels] == [{"reason": "cancelled_by_client"}]


@pytest.mark.parametrize("status", ["sending", "delivered"])
async def test_a_claimed_or_final_notification_is_not_cancellable(gateway: Gateway, status: str) -> None:
    notification_id = await _with_status(gateway, status)
    current = (await gateway.client.get(f"/v1/notifications/{notification_id}")).json()

    response = await gateway.client.post(f"/v1/notifications/{notification_id}/cancel")
    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/not-cancellable"
    assert problem["notification"] == current
    assert problem["notification"]["status"] == status
    assert "cancelled" not in [item["status"] for item in await _history(gateway, notification_id)]


async def test_a_delivered_notification_keeps_its_history(gateway: Gateway) -> None:
    notification_id, _ = await insert_queued(gateway.resources.store)
    await deliver(gateway.resources.store, notification_id)

    problem = assert_problem(await gateway.client.post(f"/v1/notifications/{notification_id}/cancel"), 409)
    assert problem["notification"]["status"] == "delivered"
    assert [item["status"] for item in await _history(gateway, notification_id)] == ["queued", "sending", "delivered"]


async def test_unknown_and_other_applications_notifications_are_404(
    gateway: Gateway, other_application: uuid.UUID
) -> None:
    theirs, _ = await insert_queued(gateway.resources.store, application_id=other_application)
    for notification_id in (uuid.uuid4(), theirs):
        assert_problem(await gateway.client.post(f"/v1/notifications/{notification_id}/cancel"), 404)
    assert (await gateway.resources.store.get(other_application, theirs) or {})["status"] == "queued"


async def test_a_malformed_id_is_422(gateway: Gateway) -> None:
    problem = assert_problem(await gateway.client.post("/v1/notifications/not-an-id/cancel"), 422)
    assert [error["field"] for error in problem["errors"]] == ["notification_id"]


async def test_a_row_held_by_another_transaction_is_busy_within_about_two_seconds(gateway: Gateway) -> None:
    notification_id, _ = await insert_queued(gateway.resources.store)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold_the_row() -> None:
        async with gateway.resources.store.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT 1 FROM notification_statuses WHERE id = $1 FOR UPDATE", notification_id)
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_row())
    await held.wait()
    started = time.monotonic()
    try:
        response = await gateway.client.post(f"/v1/notifications/{notification_id}/cancel")
    finally:
        release.set()
        await holder
    assert 1.9 <= time.monotonic() - started < 3.5
    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/cancel-busy"

    code, body = await _cancel(gateway, notification_id)
    assert (code, body["status"]) == (200, "cancelled")
