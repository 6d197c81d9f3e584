"""Finding 2: the login throttle. Guesses take their attempt before the password is checked, so concurrent
guesses cannot all pass; spraying emails from one address is limited, by the address a trusted proxy reports;
and a busy user_svc or gateway sheds logins with 503 and ``Retry-After``. Every count of checked passwords is
what a real user_svc received (its ``Authenticate`` RPCs, from its own metric)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from common.grpc.interceptors import RPC_LATENCY
from devstack.infra import Infra
from tests.integration.gateway.harness import Gateway, create_user, gateway_settings, running_gateway, unique_email
from tests.support.user_service import RunningUserService, running_user_service, user_service_settings

AUTHENTICATE = "/notification.v1.UserService/Authenticate"
PASSWORD = "correct horse battery"


def fresh_address() -> str:
    """A client address no earlier run has spent failures from (a random /64 of the documentation range)."""
    return f"2001:db8:{secrets.randbits(16):x}:{secrets.randbits(16):x}::1"


def passwords_checked() -> float:
    """How many Authenticate RPCs the user_svc servers of this process have handled so far."""
    return sum(
        sample.value
        for metric in RPC_LATENCY.collect()
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels["method"] == AUTHENTICATE
    )


@contextlib.asynccontextmanager
async def client_at(gateway: Gateway, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway whose connection comes from ``address``."""
    transport = httpx.ASGITransport(app=gateway.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def login(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password}, headers=headers)


def assert_retry_after(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1


@pytest.fixture(scope="module")
async def users(infra: Infra) -> AsyncIterator[RunningUserService]:
    async with running_user_service(user_service_settings(infra)) as service:
        yield service


@contextlib.asynccontextmanager
async def gateway_for(infra: Infra, users: RunningUserService, **overrides: Any) -> AsyncIterator[Gateway]:
    async with running_gateway(gateway_settings(infra, users=users, **overrides)) as gateway:
        yield gateway


async def test_fifty_concurrent_wrong_passwords_reach_user_svc_at_most_five_times(
    infra: Infra, users: RunningUserService
) -> None:
    async with gateway_for(infra, users, login_concurrency=100) as gateway:
        user = await create_user(gateway.client, password=PASSWORD)
        before = passwords_checked()
        answers = await asyncio.gather(*(login(gateway.client, user["email"], f"guess {n}") for n in range(50)))
        assert passwords_checked() - before <= 5
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [401] * 5 + [429] * 45
        for answer in answers:
            if answer.status_code == 429:
                assert_retry_after(answer, 429)
                assert int(answer.headers["retry-after"]) <= 900

        right = await login(gateway.client, user["email"], PASSWORD)
        assert_retry_after(right, 429)  # the contract: five failures lock the email for the window
        assert passwords_checked() - before <= 5


async def test_a_success_clears_the_emails_failures(infra: Infra, users: RunningUserService) -> None:
    async with gateway_for(infra, users) as gateway:
        user = await create_user(gateway.client, password=PASSWORD)
        for _ in range(4):
            assert (await login(gateway.client, user["email"], "wrong")).status_code == 401
        assert (await login(gateway.client, user["email"], PASSWORD)).status_code == 200
        for _ in range(5):
            assert (await login(gateway.client, user["email"], "wrong")).status_code == 401
        assert_retry_after(await login(gateway.client, user["email"], "wrong"), 429)


async def test_spraying_many_emails_from_one_address_is_limited(infra: Infra, users: RunningUserService) -> None:
    async with (
        gateway_for(infra, users, login_address_max_failures=10) as gateway,
        client_at(gateway, fresh_address()) as sprayer,
        client_at(gateway, fresh_address()) as neighbour,
    ):
        user = await create_user(gateway.client, password=PASSWORD)
        before = passwords_checked()
        answers = [await login(sprayer, unique_email(), "Winter2025!") for _ in range(15)]
        assert [a.status_code for a in answers] == [401] * 10 + [429] * 5
        assert_retry_after(answers[-1], 429)
        assert "address" in answers[-1].json()["detail"]
        assert passwords_checked() - before == 10

        assert_retry_after(await login(sprayer, user["email"], PASSWORD), 429)  # spent for every email
        assert (await login(neighbour, unique_email(), "Winter2025!")).status_code == 401
        assert (await login(neighbour, user["email"], PASSWORD)).status_code == 200


async def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(
    infra: Infra, users: RunningUserService
) -> None:
    client, other_client, direct_peer = fresh_address(), fresh_address(), fresh_address()
    async with (
        gateway_for(infra, users, login_address_max_failures=3, trusted_proxies="10.0.0.0/8, 192.0.2.1") as gateway,
        client_at(gateway, "10.1.2.3") as proxy,
        client_at(gateway, direct_peer) as direct,
    ):
        for _ in range(3):
            assert (await login(proxy, unique_email(), "x", **{"X-Forwarded-For": client})).status_code == 401
        assert_retry_after(await login(proxy, unique_email(), "x", **{"X-Forwarded-For": client}), 429)
        # What the client wrote before the proxy's own entry changes nothing: the proxy appended the real peer.
        spoofed = await login(proxy, unique_email(), "x", **{"X-Forwarded-For": f"{fresh_address()}, {client}"})
        assert_retry_after(spoofed, 429)
        # A chain of trusted proxies: the first untrusted address from the right is the client.
        chained = await login(proxy, unique_email(), "x", **{"X-Forwarded-For": f"{client}, 192.0.2.1"})
        assert_retry_after(chained, 429)
        assert (await login(proxy, unique_email(), "x", **{"X-Forwarded-For": other_client})).status_code == 401

        # A peer that is no trusted proxy is the client, whatever X-Forwarded-For it sends.
        for _ in range(3):
            forged = {"X-Forwarded-For": fresh_address()}
            assert (await login(direct, unique_email(), "x", **forged)).status_code == 401
        assert_retry_after(await login(direct, unique_email(), "x", **{"X-Forwarded-For": fresh_address()}), 429)


@pytest.fixture(scope="module")
async def slow_users(infra: Infra) -> AsyncIterator[RunningUserService]:
    """A user_svc whose password checks take a good fraction of a second, with no room to queue any."""
    settings = user_service_settings(infra, password_time_cost=16, password_memory_kib=19456, password_queue_size=0)
    async with running_user_service(settings) as service:
        yield service


async def test_a_full_hashing_queue_answers_503_with_retry_after(infra: Infra, slow_users: RunningUserService) -> None:
    threads = os.cpu_count() or 2
    async with gateway_for(infra, slow_users, login_concurrency=100, grpc_timeout_seconds=10) as gateway:
        before = passwords_checked()
        emails = [unique_email() for _ in range(threads + 6)]
        answers = await asyncio.gather(*(login(gateway.client, email, "wrong") for email in emails))
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) == {401, 503}, statuses
        assert statuses.count(401) <= threads
        for answer in answers:
            if answer.status_code == 503:
                assert_retry_after(answer, 503)
        assert passwords_checked() - before == len(emails)  # user_svc refused the rest itself

        shed = emails[statuses.index(503)]  # a login that got no verdict took nothing from the email's budget
        for _ in range(5):
            assert (await login(gateway.client, shed, "wrong")).status_code == 401
        assert_retry_after(await login(gateway.client, shed, "wrong"), 429)


async def test_logins_beyond_the_gateways_cap_are_503_without_reaching_user_svc(
    infra: Infra, slow_users: RunningUserService
) -> None:
    async with gateway_for(infra, slow_users, login_concurrency=1, grpc_timeout_seconds=10) as gateway:
        before = passwords_checked()
        answers = await asyncio.gather(*(login(gateway.client, unique_email(), "wrong") for _ in range(6)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [401] + [503] * 5
        for answer in answers:
            if answer.status_code == 503:
                assert_retry_after(answer, 503)
        assert passwords_checked() - before == 1
