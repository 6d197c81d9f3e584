"""The Python client (clients/python) against the whole stack: a send followed until delivered, status and
history, pagination across pages, idempotency, typed problems, a 429 waited out with its ``Retry-After``, keys
created and revoked, and webhook deliveries verified with the client's own function."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from common.settings import DEV_GATEWAY_ADMIN_API_KEY, DEV_GATEWAY_API_KEY
from devstack.stack import Stack
from notify_client import (
    NO_RETRIES,
    AsyncClient,
    Client,
    Conflict,
    InvalidFields,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unauthenticated,
    WebhookVerificationError,
    construct_event,
    verify,
)
from notify_client.models import Notification
from tests.e2e.api import unique
from tests.e2e.webhooks import Receiver, hook_path, of_type

FINAL = {"delivered", "failed", "skipped", "cancelled", "bounced"}


@pytest.fixture(scope="module")
async def client(stack: Stack) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(stack.url("gateway"), api_key=DEV_GATEWAY_API_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def sync_client(stack: Stack) -> Iterator[Client]:
    with Client(stack.url("gateway"), api_key=DEV_GATEWAY_API_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[Client]:
    with Client(stack.url("gateway"), api_key=DEV_GATEWAY_ADMIN_API_KEY) as running:
        yield running


@pytest.fixture(scope="module")
async def slug(client: AsyncClient) -> str:
    name = unique("client")
    await client.templates.create(name, "email", "Hello {{ user.name }}, {{ what }}", subject="For {{ user.name }}")
    return name


async def wait_final(client: AsyncClient, notification_id: str, timeout: float = 15.0) -> Notification:
    deadline = time.monotonic() + timeout
    while True:
        found = await client.notifications.get(notification_id)
        if found.status in FINAL or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_a_send_is_followed_until_delivered_with_its_history(client: AsyncClient, slug: str) -> None:
    user = await client.users.create("Ada Lovelace", f"{unique('ada')}@example.com", "correct-horse")

    accepted = await client.notifications.send(user.id, "email", slug, variables={"what": "hi"}, request_id="c-1")

    assert accepted.status == "queued"
    assert uuid.UUID(accepted.idempotency_key or "")  # made by the client
    assert not accepted.replayed
    final = await wait_final(client, accepted.notification_id)
    assert (final.status, final.user_id, final.template, final.attempts) == ("delivered", user.id, slug, 1)
    events = await client.notifications.events(accepted.notification_id)
    assert [event.status for event in events] == ["queued", "sending", "delivered"]
    assert events[-1].detail["smtp_code"] == 250
    content = await client.notifications.content(accepted.notification_id)
    assert (content.kept, content.subject, content.body) == (True, "For Ada Lovelace", "Hello Ada Lovelace, hi")
    listed = await client.notifications.list(user_id=user.id)
    assert [item.notification_id for item in listed.items] == [accepted.notification_id]
    assert listed.items[0].request_id == "c-1"


async def test_lists_are_iterated_across_pages_by_both_clients(
    client: AsyncClient, sync_client: Client, slug: str
) -> None:
    user = await client.users.create("Page Turner", f"{unique('pages')}@example.com", "correct-horse")
    sent = [
        (await client.notifications.send(user.id, "email", slug, variables={"what": str(n)})).notification_id
        for n in range(5)
    ]

    first = await client.notifications.list(user_id=user.id, limit=2)
    assert len(first.items) == 2
    assert first.next_cursor
    async_ids = [item.notification_id async for item in client.notifications.iterate(user_id=user.id, limit=2)]
    sync_ids = [item.notification_id for item in sync_client.notifications.iterate(user_id=user.id, limit=2)]
    assert async_ids == sync_ids == list(reversed(sent))  # newest first, every page
    rest = [
        item.notification_id for item in sync_client.notifications.iterate(user_id=user.id, cursor=first.next_cursor)
    ]
    assert rest == list(reversed(sent))[2:]


def test_a_repeated_send_with_its_key_is_replayed_and_another_body_conflicts(sync_client: Client, slug: str) -> None:
    user = sync_client.users.create("Idem Potent", f"{unique('idem')}@example.com", "correct-horse")
    key = unique("order")

    first = sync_client.notifications.send(user.id, "email", slug, variables={"what": "x"}, idempotency_key=key)
    again = sync_client.notifications.send(user.id, "email", slug, variables={"what": "x"}, idempotency_key=key)

    assert (again.notification_id, again.replayed, first.replayed) == (first.notification_id, True, False)
    with pytest.raises(Conflict) as conflict:
        sync_client.notifications.send(user.id, "email", slug, variables={"what": "y"}, idempotency_key=key)
    assert conflict.value.problem_type == "/problems/idempotency-key-reused"
    assert conflict.value.problem["status"] == 409
    assert conflict.value.request_id


def test_problems_are_typed_exceptions_carrying_the_problem(sync_client: Client, stack: Stack, slug: str) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound) as not_found:
        sync_client.notifications.get(missing)
    assert not_found.value.problem["instance"] == f"/v1/notifications/{missing}"

    with pytest.raises(InvalidFields) as invalid:
        sync_client.notifications.send("not-a-uuid", "fax", slug)
    assert {error["field"] for error in invalid.value.errors} == {"user_id", "channel"}

    with Client(stack.url("gateway"), api_key="wrong") as stranger, pytest.raises(Unauthenticated) as refused:
        stranger.auth.whoami()
    assert refused.value.problem_type == "/problems/unauthenticated"


def spend_the_burst(client: Client, user_id: str) -> RateLimited:
    """Send until the application's limit answers 429, and that answer."""
    for n in range(100):
        try:
            client.notifications.send(user_id, "email", "limited", variables={"n": n})
        except RateLimited as limited:
            return limited
    raise AssertionError("100 sends and no 429")


async def test_a_429_is_waited_out_for_its_retry_after_by_both_clients(admin: Client, stack: Stack) -> None:
    """An application allowed 30 sends a minute (a token every 2 s): once its burst is spent, a send without
    retries is 429 with ``Retry-After``, and each client's default policy waits it out and sends."""
    application = admin.applications.create(unique("limited"), rate_limit_per_minute=30)
    key = admin.applications.create_key(
        application.id, "sender", ["notifications:send", "users:write", "templates:write"], mode="test"
    )
    patience = RetryPolicy(max_attempts=3)
    with (
        Client(stack.url("gateway"), api_key=key.key, retry=NO_RETRIES) as impatient,
        Client(stack.url("gateway"), api_key=key.key, retry=patience) as patient,
    ):
        user = impatient.users.create("Rate Limited", f"{unique('rl')}@example.com", "correct-horse")
        impatient.templates.create("limited", "email", "{{ n }}", subject="limited")
        limited = spend_the_burst(impatient, user.id)
        assert limited.retry_after is not None
        assert 1 <= limited.retry_after <= 2
        assert limited.problem_type == "/problems/rate-limited"

        started = time.monotonic()
        accepted = patient.notifications.send(user.id, "email", "limited", variables={"n": "after"})
        waited = time.monotonic() - started
        assert accepted.status == "queued"
        assert waited >= 1.0, waited

        spend_the_burst(impatient, user.id)
        async with AsyncClient(stack.url("gateway"), api_key=key.key, retry=patience) as patient_async:
            started = time.monotonic()
            accepted = await patient_async.notifications.send(user.id, "email", "limited", variables={"n": "async"})
            waited = time.monotonic() - started
        assert accepted.status == "queued"
        assert waited >= 1.0, waited


async def test_a_key_is_created_used_and_revoked(admin: Client, stack: Stack) -> None:
    application = admin.applications.create(unique("keys"))
    created = admin.applications.create_key(application.id, "reader", ["notifications:read"])
    assert created.key.startswith("nk_")

    async with AsyncClient(stack.url("gateway"), api_key=created.key) as holder:
        me = await holder.auth.whoami()
        assert (me.application_id, me.key_id, me.scopes) == (application.id, created.id, ["notifications:read"])
        admin.applications.revoke_key(application.id, created.id)
        listed = {key.id: key for key in admin.applications.keys(application.id)}
        assert listed[created.id].revoked_at is not None
        deadline = time.monotonic() + 5
        while True:
            try:
                await holder.auth.whoami()
            except Unauthenticated:
                break
            assert time.monotonic() < deadline, "the revoked key still works after 5 s"
            await asyncio.sleep(0.1)


async def test_webhook_deliveries_verify_with_the_clients_function_also_across_a_rotation(
    client: AsyncClient, receiver: Receiver
) -> None:
    path = hook_path("client")
    endpoint = await client.webhooks.create(receiver.url(path), ["webhook.test"])
    await client.webhooks.test(endpoint.id)
    first = (await receiver.wait_for(path, lambda found: len(found) == 1))[0]
    headers, body = first["headers"], first["body"].encode()

    event = construct_event(endpoint.secret, headers, body)
    assert (event.type, event.data["webhook_id"]) == ("webhook.test", endpoint.id)
    with pytest.raises(WebhookVerificationError):
        verify(endpoint.secret, headers, body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify(endpoint.secret, headers, body, now=int(headers["webhook-timestamp"]) + 301)

    rotated = await client.webhooks.rotate_secret(endpoint.id)
    await client.webhooks.test(endpoint.id)
    second = (await receiver.wait_for(path, lambda found: len(found) == 2))[1]
    assert len(second["headers"]["webhook-signature"].split()) == 2
    for secrets in (rotated.secret, endpoint.secret, [rotated.secret, endpoint.secret]):
        verify(secrets, second["headers"], second["body"].encode())
    assert of_type("webhook.test")(second)
    await client.webhooks.delete(endpoint.id)


def test_a_sending_domain_is_added_read_listed_and_removed(sync_client: Client) -> None:
    domain = f"{unique('client')}.example.com"
    added = sync_client.sending_domains.put(domain)
    assert added.dns_record.name == f"{added.selector}._domainkey.{domain}"
    assert added.dns_record.value.startswith("v=DKIM1; k=rsa; p=")
    assert sync_client.sending_domains.put(domain) == added
    assert sync_client.sending_domains.get(domain) == added
    assert added in sync_client.sending_domains.list()
    rotated = sync_client.sending_domains.put(domain, selector="s2")
    assert (rotated.selector, rotated.dns_record.value != added.dns_record.value) == ("s2", True)
    sync_client.sending_domains.remove(domain)
    assert domain not in [found.domain for found in sync_client.sending_domains.list()]
