"""Reading notification statuses, histories and lists from notification_statuses."""

from __future__ import annotations

import uuid

from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.rows import deliver, insert_queued
from tests.integration.gateway.test_edge import assert_problem


async def test_a_status_and_its_history(gateway: Gateway) -> None:
    store = gateway.resources.store
    notification_id, _ = await insert_queued(store)
    await deliver(store, notification_id)

    for path in (f"/v1/notifications/{notification_id}", f"/v1/notifications/{notification_id}/status"):
        response = await gateway.client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["notification_id"] == str(notification_id)
        assert body["status"] == "delivered"
        assert body["template"] == "welcome"
        assert body["template_version"] == 1
        assert body["attempts"] == 1
        assert body["delivered_at"] is not None
        assert body["metadata"] == {"campaign": "test"}
        assert {"channel", "user_id", "last_error", "created_at", "updated_at"} <= body.keys()

    events = await gateway.client.get(f"/v1/notifications/{notification_id}/events")
    assert events.status_code == 200
    items = events.json()["items"]
    assert [item["status"] for item in items] == ["queued", "sending", "delivered"]
    assert items[2]["detail"] == {"smtp": "250 ok"}
    assert items[2]["attempt"] == 1


async def test_unknown_notifications_are_404(gateway: Gateway) -> None:
    missing = uuid.uuid4()
    for suffix in ("", "/status", "/events"):
        assert_problem(await gateway.client.get(f"/v1/notifications/{missing}{suffix}"), 404)


async def test_listing_filters_by_user_and_status_newest_first_with_a_cursor(gateway: Gateway) -> None:
    store = gateway.resources.store
    user_id = uuid.uuid4()
    ids = [(await insert_queued(store, user_id=user_id))[0] for _ in range(5)]
    await deliver(store, ids[0])

    seen: list[str] = []
    cursor = None
    while True:
        params = {"user_id": str(user_id), "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await gateway.client.get("/v1/notifications", params=params)).json()
        seen.extend(item["notification_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(i) for i in reversed(ids)]

    delivered = await gateway.client.get("/v1/notifications", params={"user_id": str(user_id), "status": "delivered"})
    assert [item["notification_id"] for item in delivered.json()["items"]] == [str(ids[0])]

    assert_problem(await gateway.client.get("/v1/notifications", params={"cursor": "%%%"}), 422)
    assert_problem(await gateway.client.get("/v1/notifications", params={"status": "lost"}), 422)
    assert_problem(await gateway.client.get("/v1/notifications", params={"limit": 101}), 422)
