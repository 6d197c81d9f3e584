"""5,000 notifications due in the same second, published by the schedulers of two ``python -m gateway``
processes at once (and the in-process test gateway's, when it runs): each exactly once, none before its time
(docs/design.md §7 "Later and many": ``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import asyncpg
import httpx

from common.applications import DEFAULT_APPLICATION_ID
from common.db import plain_url
from common.ids import new_notification_id
from devstack.infra import AmqpSession, Infra
from tests.integration.gateway.harness import API_KEY, VARIABLES, create_user, upsert_templates
from tests.integration.gateway.test_process import gateway_process
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import INTERNAL_KEY as USER_SVC_KEY
from tests.support.user_service import RunningUserService

ROWS = 5000
LEAD_SECONDS = 4

_INSERT = """
INSERT INTO notification_statuses (
    id, channel, user_id, template_slug, priority, status, metadata, created_at, updated_at, application_id,
    batch_id, send_at, render_input
)
SELECT id, 'email', $2, 'welcome', 'normal', 'scheduled', '{}'::jsonb, now(), now(), $3, $4,
       date_trunc('second', now()) + make_interval(secs => $5), $6::jsonb
FROM unnest($1::uuid[]) AS t(id)
"""


async def test_two_gateways_publish_each_due_row_exactly_once(
    infra: Infra,
    amqp: AmqpSession,
    user_service: RunningUserService,
    template_service: RunningTemplateService,
) -> None:
    environment = {
        "RABBITMQ_URL": infra.rabbitmq_url,
        "REDIS_URL": infra.redis_url,
        "GATEWAY_API_KEYS": API_KEY,
        "USER_SERVICE_URL": user_service.target,
        "USER_SERVICE_INTERNAL_API_KEY": USER_SVC_KEY,
        "TEMPLATE_SERVICE_URL": template_service.target,
        "TEMPLATE_SERVICE_INTERNAL_API_KEY": template_service.settings.internal_api_key,
        "GATEWAY_RECONCILER_INTERVAL_SECONDS": "0",
    }
    async with contextlib.AsyncExitStack() as stack:
        gateways = [await stack.enter_async_context(gateway_process(infra, **environment)) for _ in range(2)]
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=gateways[0].url, headers={"X-API-Key": API_KEY})
        )
        await upsert_templates(client)
        user = await create_user(client)
        db = await asyncpg.connect(plain_url(infra.database("NOTIFICATIONS_DATABASE_URL")))
        stack.push_async_callback(db.close)
        batch_id = uuid.uuid4()
        ids = [new_notification_id() for _ in range(ROWS)]
        render_input = json.dumps({"variables": VARIABLES, "locale": None, "test_mode": False})
        await db.execute(
            _INSERT, ids, uuid.UUID(user["id"]), DEFAULT_APPLICATION_ID, batch_id, LEAD_SECONDS, render_input
        )

        for _ in range(30 * 10):
            left = await db.fetchval(
                "SELECT count(*) FROM notification_statuses WHERE batch_id = $1 AND published_at IS NULL", batch_id
            )
            if left == 0:
                break
            await asyncio.sleep(0.1)
        rows = await db.fetch(
            "SELECT id, status, send_at, published_at FROM notification_statuses WHERE batch_id = $1", batch_id
        )

    assert {row["status"] for row in rows} == {"queued"}
    assert all(row["published_at"] is not None for row in rows)
    assert all(row["published_at"] >= row["send_at"] for row in rows)
    ours = {str(notification_id) for notification_id in ids}
    published = []
    for _ in range(await amqp.depth("email.queue")):  # with any row of another test that fell due meanwhile
        message = await amqp.get("email.queue")
        await message.ack()
        if message.message_id in ours:
            published.append(message.message_id)
    assert len(published) == ROWS
    assert set(published) == ours
    slowest = max(row["published_at"] - row["send_at"] for row in rows)
    print(f"{ROWS} rows due at once: the last published {slowest.total_seconds():.3f} s after its send_at")
