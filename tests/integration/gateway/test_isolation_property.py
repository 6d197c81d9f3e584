"""Two applications that share user emails, template slugs and Idempotency-Keys, driven through REST by random
interleaved operations: nothing of one is ever visible to, or changed by, the other (docs/design.md §7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.scopes import ALL_SCOPES
from tests.integration.gateway.harness import ADMIN_API_KEY, Gateway

ADMIN = {"X-API-Key": ADMIN_API_KEY}
APPS = ("a", "b")
EMAILS = 3
SLUGS = 2
IDEMPOTENCY_KEYS = 4


@dataclass
class Tenant:
    """One application as the test expects it to be: its key and what it made."""

    headers: dict[str, str]
    users: dict[int, dict[str, str]] = field(default_factory=dict)
    """email index → {"id", "name"}"""
    templates: dict[int, str] = field(default_factory=dict)
    """slug index → the body of the active version"""
    sends: dict[int, tuple[str, str]] = field(default_factory=dict)
    """idempotency key index → (body fingerprint, notification id)"""


async def new_tenant(client: httpx.AsyncClient) -> Tenant:
    created = await client.post("/v1/applications", json={"name": f"prop-{uuid.uuid4().hex[:6]}"}, headers=ADMIN)
    assert created.status_code == 201, created.text
    key = await client.post(
        f"/v1/applications/{created.json()['id']}/keys",
        json={"name": "full", "scopes": sorted(str(scope) for scope in ALL_SCOPES)},
        headers=ADMIN,
    )
    assert key.status_code == 201, key.text
    return Tenant({"X-API-Key": key.json()["key"]})


operation = st.one_of(
    st.tuples(st.just("create_user"), st.sampled_from(APPS), st.integers(0, EMAILS - 1)),
    st.tuples(st.just("rename_user"), st.sampled_from(APPS), st.integers(0, EMAILS - 1)),
    st.tuples(st.just("delete_user"), st.sampled_from(APPS), st.integers(0, EMAILS - 1)),
    st.tuples(st.just("put_template"), st.sampled_from(APPS), st.integers(0, SLUGS - 1)),
    st.tuples(
        st.just("send"),
        st.sampled_from(APPS),
        st.tuples(st.integers(0, EMAILS - 1), st.integers(0, SLUGS - 1), st.integers(0, IDEMPOTENCY_KEYS - 1)),
    ),
)


class World:
    """Both applications, the names they share in this example, and the operations applied so far."""

    def __init__(self, client: httpx.AsyncClient, tenants: dict[str, Tenant]) -> None:
        self.client = client
        self.tenants = tenants
        self.run = uuid.uuid4().hex[:8]
        self.step = 0

    def email(self, index: int) -> str:
        return f"prop-{self.run}-{index}@example.com"

    def slug(self, index: int) -> str:
        return f"prop-{self.run}-{index}"

    def other(self, app: str) -> Tenant:
        return self.tenants["b" if app == "a" else "a"]

    async def apply(self, name: str, app: str, argument: Any) -> None:
        self.step += 1
        await getattr(self, name)(self.tenants[app], argument)

    async def create_user(self, tenant: Tenant, index: int) -> None:
        name = f"user {index} step {self.step}"
        response = await self.client.post(
            "/v1/users",
            json={"name": name, "email": self.email(index), "password": "correct-horse-battery"},
            headers=tenant.headers,
        )
        if index in tenant.users:
            assert response.status_code == 409, response.text  # taken in this application only
            return
        assert response.status_code == 201, response.text
        tenant.users[index] = {"id": response.json()["id"], "name": name}

    async def rename_user(self, tenant: Tenant, index: int) -> None:
        user_id = (tenant.users.get(index) or self._someone_elses(tenant, index) or {"id": str(uuid.uuid4())})["id"]
        name = f"renamed at step {self.step}"
        response = await self.client.patch(f"/v1/users/{user_id}", json={"name": name}, headers=tenant.headers)
        if index in tenant.users:
            assert response.status_code == 200, response.text
            tenant.users[index]["name"] = name
        else:
            assert response.status_code == 404, response.text

    async def delete_user(self, tenant: Tenant, index: int) -> None:
        user_id = (tenant.users.get(index) or self._someone_elses(tenant, index) or {"id": str(uuid.uuid4())})["id"]
        response = await self.client.delete(f"/v1/users/{user_id}", headers=tenant.headers)
        if index in tenant.users:
            assert response.status_code == 204, response.text
            del tenant.users[index]
        else:
            assert response.status_code == 404, response.text

    async def put_template(self, tenant: Tenant, index: int) -> None:
        body = f"Hello {{{{ name }}}} from step {self.step}"
        template = {"channel": "email", "locale": "en", "subject": "Hi", "body": body}
        if index in tenant.templates:
            response = await self.client.put(f"/v1/templates/{self.slug(index)}", json=template, headers=tenant.headers)
            assert response.status_code == 200, response.text
        else:
            response = await self.client.post(
                "/v1/templates", json={"slug": self.slug(index), **template}, headers=tenant.headers
            )
            assert response.status_code == 201, response.text
        tenant.templates[index] = body

    async def send(self, tenant: Tenant, argument: tuple[int, int, int]) -> None:
        email, slug, key = argument
        user = tenant.users.get(email) or self._someone_elses(tenant, email)
        user_id = user["id"] if user else str(uuid.uuid4())
        body = {"user_id": user_id, "channel": "email", "template": self.slug(slug), "variables": {"name": "Ada"}}
        fingerprint = f"{user_id}/{slug}"
        headers = {**tenant.headers, "Idempotency-Key": f"prop-{self.run}-{key}"}
        response = await self.client.post("/v1/notifications/send", json=body, headers=headers)
        earlier = tenant.sends.get(key)
        if earlier is not None:
            if earlier[0] == fingerprint:
                assert response.status_code == 202, response.text
                assert response.json()["notification_id"] == earlier[1]  # replayed within the application
            else:
                assert response.status_code == 409, response.text
            return
        if email not in tenant.users or slug not in tenant.templates:
            assert response.status_code == 404, response.text  # the other application's user or template is unknown
            return
        assert response.status_code == 202, response.text
        notification_id = response.json()["notification_id"]
        for other in self.tenants.values():
            if other is not tenant:
                assert all(sent[1] != notification_id for sent in other.sends.values())
        tenant.sends[key] = (fingerprint, notification_id)

    def _someone_elses(self, tenant: Tenant, index: int) -> dict[str, str] | None:
        """The other application's user with this email, if it has one: the id this application must not reach."""
        for other in self.tenants.values():
            if other is not tenant and index in other.users:
                return other.users[index]
        return None

    async def check(self) -> None:
        """Each application sees exactly its own users, templates and notifications, and the other's answer 404."""
        for app, tenant in self.tenants.items():
            other = self.other(app)
            for index, user in tenant.users.items():
                mine = await self.client.get(f"/v1/users/{user['id']}", headers=tenant.headers)
                assert mine.status_code == 200, mine.text
                assert mine.json()["name"] == user["name"]
                assert mine.json()["email"] == self.email(index)
                assert (await self.client.get(f"/v1/users/{user['id']}", headers=other.headers)).status_code == 404
            for index, body in tenant.templates.items():
                found = await self.client.get(
                    f"/v1/templates/{self.slug(index)}", params={"channel": "email"}, headers=tenant.headers
                )
                assert found.status_code == 200, found.text
                assert found.json()["body"] == body
                if index not in other.templates:
                    missing = await self.client.get(
                        f"/v1/templates/{self.slug(index)}", params={"channel": "email"}, headers=other.headers
                    )
                    assert missing.status_code == 404, missing.text
            for _, notification_id in tenant.sends.values():
                mine = await self.client.get(f"/v1/notifications/{notification_id}", headers=tenant.headers)
                assert mine.status_code == 200, mine.text
                theirs = await self.client.get(f"/v1/notifications/{notification_id}", headers=other.headers)
                assert theirs.status_code == 404, theirs.text
                events = await self.client.get(f"/v1/notifications/{notification_id}/events", headers=other.headers)
                assert events.status_code == 404, events.text


@pytest.fixture(scope="module")
async def tenants(gateway: Gateway) -> dict[str, Tenant]:
    return {app: await new_tenant(gateway.client) for app in APPS}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=4, max_size=30))
async def test_nothing_of_one_application_reaches_the_other(
    gateway: Gateway, tenants: dict[str, Tenant], operations: list[tuple[str, str, Any]]
) -> None:
    world = World(gateway.client, {app: Tenant(tenant.headers) for app, tenant in tenants.items()})
    for app in APPS:  # both start with the same emails and slugs, so every operation has a twin to collide with
        for index in range(EMAILS):
            await world.apply("create_user", app, index)
        for index in range(SLUGS):
            await world.apply("put_template", app, index)
    for name, app, argument in operations:
        await world.apply(name, app, argument)
    await world.check()
    event(f"notifications sent: {sum(len(tenant.sends) for tenant in world.tenants.values())}")
    event(f"emails used by both: {len(set(world.tenants['a'].users) & set(world.tenants['b'].users))}")
