"""POST /v1/notifications/batch through a real gateway, user_svc, template_svc, Redis, Postgres and RabbitMQ: an
item per recipient in request order, one row per accepted recipient, every queued envelope in RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from common.amqp.topology import declare_topology
from common.db import plain_url
from devstack.infra import AmqpSession, Infra
from notification.v1 import notification_pb2 as pb
from tests.integration.gateway.harness import (
    DEFAULT_APPLICATION,
    EMAIL,
    VARIABLES,
    Gateway,
    create_user,
    gateway_settings,
    running_gateway,
    unique_email,
)
from tests.integration.gateway.test_applications import EVERY_SCOPE, new_application, new_key
from tests.integration.gateway.test_edge import assert_problem
from tests.integration.gateway.test_profiles import caching_gateway  # noqa: F401 - a fixture
from tests.integration.gateway.test_send import missing_exchange  # noqa: F401 - a fixture
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService

pytestmark = pytest.mark.usefixtures("templates")

PATH = "/v1/notifications/batch"


def batch_body(*recipients: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "template": "welcome",
        "variables": VARIABLES,
        "recipients": list(recipients),
        **changes,
    }


def to(user: dict[str, Any] | str, **fields: Any) -> dict[str, Any]:
    return {"user_id": user if isinstance(user, str) else user["id"], **fields}


async def batch_rows(gateway: Gateway, batch_id: str) -> list[Any]:
    query = "SELECT * FROM notification_statuses WHERE batch_id = $1 ORDER BY id"
    return list(await gateway.resources.db.fetch(query, uuid.UUID(batch_id)))


async def envelopes(amqp: AmqpSession, queue: str, count: int) -> dict[str, pb.MessageEnvelope]:
    """The next ``count`` messages of ``queue`` (acked) by notification id; nothing more waits there."""
    found = {}
    for _ in range(count):
        message = await amqp.get(queue)
        await message.ack()
        envelope = pb.MessageEnvelope.FromString(message.body)
        found[envelope.notification_id] = envelope
    assert await amqp.depth(queue) == 0
    return found


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every notification the list answers for ``params`` (with ``headers``), following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            "/v1/notifications",
            params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_each_recipient_gets_an_item_in_request_order(gateway: Gateway, amqp: AmqpSession) -> None:
    ada = await create_user(gateway.client, name="Ada", locale="en")
    opted_out = await create_user(gateway.client, preferences={"email": False, "push": True})
    grace = await create_user(gateway.client, name="Grace", locale="en")
    unknown = str(uuid.uuid4())
    body = batch_body(
        to(ada, variables={"name": "Ada L."}),
        to(opted_out),
        to(unknown),
        to(ada),
        to(grace),
        variables={"name": "friend", "link": "https://example.com/batch"},
        metadata={"campaign": "launch"},
    )

    response = await gateway.client.post(PATH, json=body, headers={"X-Request-ID": "req-batch-1"})

    assert response.status_code == 202, response.text
    answer = response.json()
    items = answer["items"]
    assert [(item["user_id"], item["status"], item["reason"]) for item in items] == [
        (ada["id"], "queued", None),
        (opted_out["id"], "skipped", "channel_disabled"),
        (unknown, "rejected", "user_not_found"),
        (ada["id"], "rejected", "duplicate"),
        (grace["id"], "queued", None),
    ]
    assert [item["notification_id"] is None for item in items] == [False, False, True, True, False]
    assert int(response.headers["x-ratelimit-remaining"]) >= 0

    sent = await envelopes(amqp, "email.queue", 2)
    assert set(sent) == {items[0]["notification_id"], items[4]["notification_id"]}
    # the recipient's variables win over the batch's, one level deep; the rest come from the batch
    assert sent[items[0]["notification_id"]].email.text_body == "Hello Ada L., start at https://example.com/batch (en)"
    assert sent[items[4]["notification_id"]].email.text_body == "Hello friend, start at https://example.com/batch (en)"
    assert sent[items[4]["notification_id"]].correlation_id == "req-batch-1"
    assert dict(sent[items[4]["notification_id"]].metadata) == {"campaign": "launch"}

    rows = await batch_rows(gateway, answer["batch_id"])
    assert {str(row["id"]): (row["status"], row["reason"]) for row in rows} == {
        items[0]["notification_id"]: ("queued", None),
        items[1]["notification_id"]: ("skipped", "channel_disabled"),
        items[4]["notification_id"]: ("queued", None),
    }
    skipped = rows[[str(row["id"]) for row in rows].index(items[1]["notification_id"])]
    assert skipped["envelope"] is None
    shown = (await gateway.client.get(f"/v1/notifications/{items[0]['notification_id']}")).json()
    assert (shown["batch_id"], shown["status"]) == (answer["batch_id"], "queued")


async def test_the_batch_id_filter_lists_exactly_the_batchs_notifications(gateway: Gateway, amqp: AmqpSession) -> None:
    users = [await create_user(gateway.client) for _ in range(3)]
    first = (await gateway.client.post(PATH, json=batch_body(*map(to, users)))).json()
    other = (await gateway.client.post(PATH, json=batch_body(to(users[0])))).json()

    items = await listed(gateway.client, batch_id=first["batch_id"])

    assert {item["notification_id"] for item in items} == {item["notification_id"] for item in first["items"]}
    assert {item["batch_id"] for item in items} == {first["batch_id"]}
    assert [item["notification_id"] for item in await listed(gateway.client, batch_id=other["batch_id"])] == [
        other["items"][0]["notification_id"]
    ]
    assert await listed(gateway.client, batch_id=str(uuid.uuid4())) == []
    assert_problem(await gateway.client.get("/v1/notifications", params={"batch_id": "nope"}), 422)


async def test_a_single_send_has_no_batch(gateway: Gateway, amqp: AmqpSession) -> None:
    user = await create_user(gateway.client)
    sent = await gateway.client.post(
        "/v1/notifications/send",
        json={"user_id": user["id"], "channel": "email", "template": "welcome", "variables": VARIABLES},
    )
    assert sent.status_code == 202, sent.text
    shown = (await gateway.client.get(sent.json()["status_url"])).json()
    assert shown["batch_id"] is None


async def test_an_idempotent_repeat_answers_the_same_and_sends_nothing_more(
    gateway: Gateway, amqp: AmqpSession
) -> None:
    users = [await create_user(gateway.client) for _ in range(2)]
    body = batch_body(*map(to, users))
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}

    first = await gateway.client.post(PATH, json=body, headers=key)
    repeat = await gateway.client.post(PATH, json=body, headers=key)
    reused = await gateway.client.post(PATH, json=batch_body(to(users[0])), headers=key)

    assert first.status_code == repeat.status_code == 202
    assert repeat.content == first.content
    assert repeat.headers["idempotent-replayed"] == "true"
    assert_problem(reused, 409)
    assert len(await batch_rows(gateway, first.json()["batch_id"])) == 2
    await envelopes(amqp, "email.queue", 2)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"template": "no-such-template"}, 404),
        ({"variables": {}}, 422),  # the template needs `name` and `link`
    ],
)
async def test_a_template_error_fails_the_whole_batch(
    gateway: Gateway, amqp: AmqpSession, changes: dict[str, Any], status: int
) -> None:
    users = [await create_user(gateway.client) for _ in range(2)]
    body = batch_body(to(users[0], variables=VARIABLES), to(users[1]), **changes)
    key = {"Idempotency-Key": f"failing-{uuid.uuid4()}"}

    response = await gateway.client.post(PATH, json=body, headers=key)

    assert_problem(response, status)
    for user in users:
        query = "SELECT count(*) FROM notification_statuses WHERE user_id = $1"
        assert await gateway.resources.db.fetchval(query, uuid.UUID(user["id"])) == 0
    assert await amqp.depth("email.queue") == 0
    # the key was released: the corrected batch goes through with it
    fixed = await gateway.client.post(PATH, json=batch_body(*map(to, users)), headers=key)
    assert fixed.status_code == 202, fixed.text


async def test_a_malformed_idempotency_key_is_422_naming_it(gateway: Gateway) -> None:
    body = batch_body(to(str(uuid.uuid4())))
    for key in ("", "k" * 256, "a\tb"):
        problem = assert_problem(await gateway.client.post(PATH, json=body, headers={"Idempotency-Key": key}), 422)
        assert [error["field"] for error in problem["errors"]] == ["Idempotency-Key"]


@pytest.mark.parametrize("count", [0, 1001])
async def test_no_recipient_or_more_than_a_thousand_is_422(gateway: Gateway, count: int) -> None:
    body = batch_body(*(to(str(uuid.uuid4())) for _ in range(count)))
    problem = assert_problem(await gateway.client.post(PATH, json=body), 422)
    assert [error["field"] for error in problem["errors"]] == ["recipients"]


async def test_a_recipient_over_its_rate_limit_is_rejected_alone(
    infra: Infra, user_service: RunningUserService, template_service: RunningTemplateService, amqp: AmqpSession
) -> None:
    settings = gateway_settings(
        infra,
        users=user_service,
        templates=template_service,
        rate_limit_user_per_minute=1,
        rate_limit_window_seconds=60,
    )
    async with running_gateway(settings) as gateway:
        busy, idle = await create_user(gateway.client), await create_user(gateway.client)
        single = {"user_id": busy["id"], "channel": "email", "template": "welcome", "variables": VARIABLES}
        assert (await gateway.client.post("/v1/notifications/send", json=single)).status_code == 202

        response = await gateway.client.post(PATH, json=batch_body(to(busy), to(idle)))

        assert response.status_code == 202, response.text
        items = response.json()["items"]
        assert [(item["status"], item["reason"], item["notification_id"]) for item in items[:1]] == [
            ("rejected", "rate_limited", None)
        ]
        assert items[1]["status"] == "queued"
        assert [row["user_id"] for row in await batch_rows(gateway, response.json()["batch_id"])] == [
            uuid.UUID(idle["id"])
        ]
        await envelopes(amqp, "email.queue", 2)  # the single send's and the idle recipient's


async def test_a_thousand_recipients_are_queued_rows_and_messages(gateway: Gateway, amqp: AmqpSession) -> None:
    users: list[dict[str, Any]] = []
    for _ in range(40):  # 25 at a time: user_svc refuses hashes past its queue (32 waiting) as busy
        users.extend(await asyncio.gather(*(create_user(gateway.client) for _ in range(25))))
    # per-recipient variables make the body larger than the 64 KiB other routes take
    body = batch_body(*(to(user, variables={"name": f"Recipient {index:04}"}) for index, user in enumerate(users)))

    response = await gateway.client.post(PATH, json=body, timeout=60)

    assert response.status_code == 202, response.text
    assert len(response.request.content) > 64 * 1024
    items = response.json()["items"]
    assert [item["user_id"] for item in items] == [user["id"] for user in users]
    assert {item["status"] for item in items} == {"queued"}
    rows = await batch_rows(gateway, response.json()["batch_id"])
    assert {str(row["id"]) for row in rows} == {item["notification_id"] for item in items}
    assert {row["status"] for row in rows} == {"queued"}
    sent = await envelopes(amqp, "email.queue", 1000)
    assert set(sent) == {item["notification_id"] for item in items}
    assert sent[items[7]["notification_id"]].email.text_body.startswith("Hello Recipient 0007,")


async def test_a_body_over_a_mebibyte_is_413(gateway: Gateway) -> None:
    body = batch_body(to(str(uuid.uuid4()), variables={"padding": "x" * (1024 * 1024)}))
    problem = assert_problem(await gateway.client.post(PATH, json=body), 413)
    assert "1048576 bytes" in problem["detail"]


async def test_another_applications_users_and_batches_are_unknown(gateway: Gateway, amqp: AmqpSession) -> None:
    ours = await create_user(gateway.client)
    application = await new_application(gateway.client)
    theirs = {"X-API-Key": (await new_key(gateway.client, application["id"], EVERY_SCOPE))["key"]}
    assert (await gateway.client.post("/v1/templates", json=EMAIL, headers=theirs)).status_code == 201
    created = await gateway.client.post(
        "/v1/users",
        json={"name": "Theirs", "email": unique_email(), "password": "correct horse battery"},
        headers=theirs,
    )
    their_user = created.json()

    sent = await gateway.client.post(PATH, json=batch_body(to(ours), to(their_user["id"])), headers=theirs)

    assert sent.status_code == 202, sent.text
    assert [(item["status"], item["reason"]) for item in sent.json()["items"]] == [
        ("rejected", "user_not_found"),
        ("queued", None),
    ]
    assert await listed(gateway.client, batch_id=sent.json()["batch_id"]) == []
    assert len(await listed(gateway.client, batch_id=sent.json()["batch_id"], headers=theirs)) == 1
    await envelopes(amqp, "email.queue", 1)


async def test_a_suppressed_recipient_is_skipped_with_its_row(gateway: Gateway, amqp: AmqpSession) -> None:
    suppressed, fine = await create_user(gateway.client), await create_user(gateway.client)
    await gateway.resources.db.execute(
        "INSERT INTO email_suppressions (application_id, address, reason)"
        " VALUES ((SELECT id FROM applications WHERE name = 'default'), $1, 'hard_bounce')",
        suppressed["email"].lower(),
    )

    response = await gateway.client.post(PATH, json=batch_body(to(suppressed), to(fine)))

    items = response.json()["items"]
    assert [(item["status"], item["reason"]) for item in items] == [("skipped", "suppressed"), ("queued", None)]
    events = (await gateway.client.get(f"/v1/notifications/{items[0]['notification_id']}/events")).json()["items"]
    assert [(event["status"], event["detail"]) for event in events] == [("skipped", {"reason": "suppressed"})]
    assert set(await envelopes(amqp, "email.queue", 1)) == {items[1]["notification_id"]}


@pytest.mark.usefixtures("missing_exchange")
async def test_a_broker_refusing_everything_is_503_and_queues_nothing(gateway: Gateway, amqp: AmqpSession) -> None:
    users = [await create_user(gateway.client) for _ in range(3)]
    body = batch_body(*map(to, users))
    key = {"Idempotency-Key": f"refused-{uuid.uuid4()}"}

    assert_problem(await gateway.client.post(PATH, json=body, headers=key), 503)

    for user in users:
        query = "SELECT count(*) FROM notification_statuses WHERE user_id = $1"
        assert await gateway.resources.db.fetchval(query, uuid.UUID(user["id"])) == 0
    await declare_topology(await amqp.connection.channel())  # the broker is back: the same key goes through
    for _ in range(50):
        retried = await gateway.client.post(PATH, json=body, headers=key)
        if retried.status_code == 202:
            break
        assert retried.status_code == 503, retried.text
        await asyncio.sleep(0.1)
    assert {item["status"] for item in retried.json()["items"]} == {"queued"}
    assert len(await envelopes(amqp, "email.queue", 3)) == 3


async def test_a_batch_of_unknown_users_is_all_rejected(gateway: Gateway, amqp: AmqpSession) -> None:
    unknown = [str(uuid.uuid4()) for _ in range(2)]

    response = await gateway.client.post(PATH, json=batch_body(*map(to, unknown)))

    assert response.status_code == 202, response.text
    assert [(item["user_id"], item["status"], item["reason"]) for item in response.json()["items"]] == [
        (user_id, "rejected", "user_not_found") for user_id in unknown
    ]
    assert await batch_rows(gateway, response.json()["batch_id"]) == []


async def test_cached_profiles_are_used_and_fetched_ones_cached(
    caching_gateway: Gateway,  # noqa: F811 - the fixture imported above
    user_service: RunningUserService,
    amqp: AmqpSession,
) -> None:
    gateway = caching_gateway
    cached, fetched = await create_user(gateway.client), await create_user(gateway.client)
    single = {"user_id": cached["id"], "channel": "email", "template": "welcome", "variables": VARIABLES}
    assert (await gateway.client.post("/v1/notifications/send", json=single)).status_code == 202
    # both turn email off behind every cache's back (no UserChanged): only a profile read now sees it
    connection = await asyncpg.connect(plain_url(user_service.settings.database_url))
    try:
        ids = [uuid.UUID(cached["id"]), uuid.UUID(fetched["id"])]
        await connection.execute("UPDATE preferences SET email = false WHERE user_id = ANY($1::uuid[])", ids)
    finally:
        await connection.close()

    response = await gateway.client.post(PATH, json=batch_body(to(cached), to(fetched)))

    assert [(item["status"], item["reason"]) for item in response.json()["items"]] == [
        ("queued", None),  # the gateway's cached profile
        ("skipped", "channel_disabled"),  # fetched now
    ]
    assert gateway.resources.profiles.cached(DEFAULT_APPLICATION, fetched["id"]) is not None
    await envelopes(amqp, "email.queue", 2)
