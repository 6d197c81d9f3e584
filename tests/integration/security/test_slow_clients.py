"""Finding 12: slow clients. The gateway served as ``python -m gateway`` serves it (uvicorn with the options of
``gateway.serve``) cuts off a client that sends its headers or its body a byte at a time, or nothing at all,
within the configured time, while other clients are served meanwhile; it caps header bytes and open
connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.infra import Infra
from tests.fuzz.served import ServedGateway, served_gateway
from tests.integration.gateway.harness import gateway_settings

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_CONNECTIONS = 4
DRIP_SECONDS = 0.1
SLACK = 1.0
"""How much later than its timeout a connection may be closed (timer granularity, a busy test machine)."""


@pytest.fixture(scope="module")
async def served(infra: Infra) -> AsyncIterator[ServedGateway]:
    settings = gateway_settings(
        infra,
        header_timeout_seconds=HEADER_TIMEOUT,
        body_timeout_seconds=BODY_TIMEOUT,
        max_connections=MAX_CONNECTIONS,
        max_header_bytes=4096,
    )
    async with served_gateway(settings) as gateway:
        yield gateway


async def connect(served: ServedGateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = urlsplit(served.url)
    return await asyncio.open_connection(address.hostname, address.port)


async def drip_until_closed(
    served: ServedGateway, prefix: bytes, drip: bytes, *, limit: float = 10.0
) -> tuple[float, bytes]:
    """Send ``prefix`` at once, then ``drip`` a byte every 0.1 s until the server closes the connection;
    the seconds that took after ``prefix`` and what the server answered."""
    reader, writer = await connect(served)
    try:
        writer.write(prefix)
        await writer.drain()
        started = time.monotonic()
        answer = b""
        for index in range(int(limit / DRIP_SECONDS)):
            try:
                writer.write(drip[index % len(drip) : index % len(drip) + 1])
                await writer.drain()
                chunk = await asyncio.wait_for(reader.read(65536), DRIP_SECONDS)
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - started, answer
            if not chunk:
                return time.monotonic() - started, answer
            answer += chunk
        raise AssertionError(f"the connection was still open after {limit} s")
    finally:
        writer.close()


async def health_meanwhile(served: ServedGateway, slow: Any) -> tuple[Any, list[int]]:
    """Run ``slow`` while a normal client asks for ``/health`` every 0.2 s; its result and their statuses."""
    statuses: list[int] = []
    task = asyncio.ensure_future(slow)
    async with httpx.AsyncClient(base_url=served.url) as client:
        while not task.done():
            statuses.append((await client.get("/health")).status_code)
            await asyncio.sleep(0.2)
    return task.result(), statuses


async def test_headers_sent_a_byte_at_a_time_are_cut_off_while_others_are_served(served: ServedGateway) -> None:
    slowloris = drip_until_closed(served, b"GET /health HTTP/1.1\r\nHost: gateway\r\n", b"X-Slow: aaaaaaaa\r\n")
    (elapsed, answer), statuses = await health_meanwhile(served, slowloris)
    assert elapsed < HEADER_TIMEOUT + SLACK
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer
    assert statuses
    assert set(statuses) == {200}


async def test_a_body_sent_a_byte_at_a_time_is_cut_off(served: ServedGateway) -> None:
    headers = (
        b"POST /v1/auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4000\r\n\r\n"
    )
    (elapsed, _), statuses = await health_meanwhile(served, drip_until_closed(served, headers, b'{"email": "a'))
    assert elapsed < BODY_TIMEOUT + SLACK
    assert set(statuses) == {200}


async def test_a_connection_that_sends_nothing_is_closed(served: ServedGateway) -> None:
    reader, writer = await connect(served)
    started = time.monotonic()
    try:
        assert await asyncio.wait_for(reader.read(), HEADER_TIMEOUT + SLACK) == b""
    finally:
        writer.close()
    assert time.monotonic() - started < HEADER_TIMEOUT + SLACK


@pytest.mark.parametrize("end", [b"\r\n\r\n", b""], ids=["complete", "still-coming"])
async def test_oversized_headers_are_431(served: ServedGateway, end: bytes) -> None:
    reader, writer = await connect(served)
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 8192 + end)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"application/problem+json" in answer


async def test_connections_beyond_the_cap_are_503_until_idle_ones_are_cut_off(served: ServedGateway) -> None:
    idle = [await connect(served) for _ in range(MAX_CONNECTIONS)]
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            refused = await client.get("/health")
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == "1"
            await asyncio.sleep(HEADER_TIMEOUT + SLACK)  # the idle connections are closed by now
        async with httpx.AsyncClient(base_url=served.url) as client:
            assert (await client.get("/health")).status_code == 200
    finally:
        for _, writer in idle:
            writer.close()
