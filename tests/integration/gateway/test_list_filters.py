"""The filters of GET /v1/notifications: alone, combined, across pages, within the caller's application."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.applications import DEFAULT_APPLICATION_ID
from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.rows import deliver, insert_queued
from tests.integration.gateway.test_edge import assert_problem


async def listed(gateway: Gateway, params: dict[str, Any], *, limit: int = 2) -> list[str]:
    """Every notification id the listing answers for ``params``, following ``next_cursor`` page by page."""
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await gateway.client.get("/v1/notifications", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["notification_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def newest_first(*ids: uuid.UUID) -> list[str]:
    return [str(i) for i in sorted(ids, reverse=True)]


async def a_moment_between() -> datetime:
    """An instant strictly between the rows made before and after this call (ids have millisecond time)."""
    await asyncio.sleep(0.005)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.005)
    return moment


@pytest.fixture
def tag() -> str:
    """A value no other test's rows carry."""
    return uuid.uuid4().hex[:12]


async def test_each_filter_alone_across_pages(gateway: Gateway, tag: str) -> None:
    store = gateway.resources.store
    start = await a_moment_between()
    template = f"tpl-{tag}"
    by_template = [(await insert_queued(store, template_slug=template))[0] for _ in range(3)]
    by_request = [(await insert_queued(store, request_id=f"req-{tag}"))[0] for _ in range(3)]
    by_metadata = [(await insert_queued(store, metadata={"order": tag, "shop": "lisbon"}))[0] for _ in range(3)]
    pushes = [(await insert_queued(store, channel="push"))[0] for _ in range(3)]
    middle = await a_moment_between()
    later = [(await insert_queued(store))[0] for _ in range(3)]
    touched = await a_moment_between()
    await deliver(store, by_template[0])
    mine = by_template + by_request + by_metadata + pushes + later

    assert await listed(gateway, {"template": template}) == newest_first(*by_template)
    assert await listed(gateway, {"request_id": f"req-{tag}"}) == newest_first(*by_request)
    assert await listed(gateway, {"metadata.order": tag}) == newest_first(*by_metadata)
    assert await listed(gateway, {"created_after": start.isoformat()}, limit=4) == newest_first(*mine)
    assert await listed(gateway, {"created_after": start.isoformat(), "created_before": middle.isoformat()}) == (
        newest_first(*by_template, *by_request, *by_metadata, *pushes)
    )
    assert await listed(gateway, {"updated_after": touched.isoformat()}) == [str(by_template[0])]

    channel_page = (await gateway.client.get("/v1/notifications", params={"channel": "push", "limit": 3})).json()
    assert [item["notification_id"] for item in channel_page["items"]] == newest_first(*pushes)
    assert {item["channel"] for item in channel_page["items"]} == {"push"}
    before_start = await listed(gateway, {"created_before": start.isoformat(), "template": template})
    assert before_start == []
    assert await listed(gateway, {"created_before": "1900-01-01T00:00:00Z", "template": template}) == []
    assert await listed(gateway, {"created_after": "1900-01-01T00:00:00Z", "template": template}) == (
        newest_first(*by_template)
    )


async def test_filters_combine_and_each_item_carries_its_request_id(gateway: Gateway, tag: str) -> None:
    store = gateway.resources.store
    user_id = uuid.uuid4()
    request_id = f"req-{tag}"
    wanted = [
        (await insert_queued(store, user_id=user_id, channel="push", request_id=request_id, metadata={"k": tag}))[0]
        for _ in range(3)
    ]
    await insert_queued(store, user_id=user_id, channel="email", request_id=request_id, metadata={"k": tag})
    await insert_queued(store, user_id=user_id, channel="push", request_id=request_id, metadata={"k": "other"})
    await insert_queued(store, channel="push", request_id=request_id, metadata={"k": tag})
    delivered = (
        await insert_queued(store, user_id=user_id, channel="push", request_id=request_id, metadata={"k": tag})
    )[0]
    await deliver(store, delivered)

    params = {
        "user_id": str(user_id),
        "status": "queued",
        "channel": "push",
        "template": "welcome",
        "request_id": request_id,
        "metadata.k": tag,
        "created_after": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    assert await listed(gateway, params) == newest_first(*wanted)
    assert await listed(gateway, {**params, "status": "delivered"}) == [str(delivered)]
    assert await listed(gateway, {**params, "metadata.absent": "x"}) == []

    items = (await gateway.client.get("/v1/notifications", params=params)).json()["items"]
    assert {item["request_id"] for item in items} == {request_id}


async def test_another_applications_rows_never_match(
    gateway: Gateway,
    other_application: uuid.UUID,
    tag: str,
) -> None:
    store = gateway.resources.store
    start = await a_moment_between()

    async def insert(application_id: uuid.UUID) -> uuid.UUID:
        notification_id, _ = await insert_queued(
            store,
            application_id=application_id,
            channel="push",
            template_slug=f"tpl-{tag}",
            request_id=f"req-{tag}",
            metadata={"order": tag},
        )
        return notification_id

    ours = await insert(DEFAULT_APPLICATION_ID)
    for _ in range(3):
        await insert(other_application)

    for params in (
        {"template": f"tpl-{tag}"},
        {"request_id": f"req-{tag}"},
        {"metadata.order": tag},
        {"created_after": start.isoformat(), "channel": "push"},
        {"updated_after": start.isoformat()},
    ):
        assert await listed(gateway, params) == [str(ours)], params


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2026-13-01T00:00:00Z"}, "created_before"),
        ({"updated_after": "2026-12-01T10:00:00"}, "updated_after"),
        ({"channel": "sms"}, "channel"),
        ({"template": "Not A Slug"}, "template"),
        ({"request_id": "r" * 129}, "request_id"),
        ({"metadata.": "x"}, "metadata."),
        ({"metadata.order": ""}, "metadata.order"),
        ({"metadata.order": "x" * 257}, "metadata.order"),
        ({"metadata.order": "a\tb"}, "metadata.order"),
        ({"metadata.a": "1", "metadata.b": "2", "metadata.c": "3", "metadata.d": "4"}, "metadata"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(gateway: Gateway, params: dict[str, str], field: str) -> None:
    body = assert_problem(await gateway.client.get("/v1/notifications", params=params), 422)
    assert field in [error["field"] for error in body["errors"]]


async def test_a_repeated_metadata_key_is_422(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/notifications?metadata.order=a&metadata.order=b")
    body = assert_problem(response, 422)
    assert [error["field"] for error in body["errors"]] == ["metadata.order"]
