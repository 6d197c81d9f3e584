"""``gateway migrate`` copies release 1's idempotency records to their release-2 names: a send retried across
the upgrade replays its first response instead of being sent again, whichever API key the retry uses."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from common.redis_client import RedisClient
from devstack.infra import Infra
from gateway.idempotency_migration import copy_release_1_records, migrate_idempotency_records, release_2_name
from gateway.limits import body_hash, canonical_json
from gateway.redis_keys import idempotency_record
from gateway.schemas.notifications import SendRequest
from tests.integration.gateway.harness import DEFAULT_APPLICATION, OTHER_API_KEY, Gateway, create_user
from tests.integration.gateway.test_send import send_body

pytestmark = pytest.mark.usefixtures("templates")

DAY_MS = 86_400_000


def release_1_name(idempotency_key: str, key_id: str = "0123456789abcdef") -> str:
    """Where release 1 kept a record: under the API key's id."""
    return f"gw:idem:{key_id}:{idempotency_key}"


def fingerprint(body: dict[str, object]) -> str:
    return body_hash(canonical_json(SendRequest.model_validate(body).model_dump(mode="json")))


async def test_a_retry_after_the_upgrade_replays_the_response_release_1_stored(
    gateway: Gateway, redis: RedisClient, infra: Infra
) -> None:
    user = await create_user(gateway.client)
    body = send_body(user)
    idempotency_key = f"upgrade:{uuid.uuid4()}"  # a colon in the key is the key's, not a separator
    first_response = orjson.dumps({"notification_id": str(uuid.uuid4()), "status": "queued", "reason": None})
    old = release_1_name(idempotency_key)
    await redis.hset(old, mapping={"h": fingerprint(body), "o": "release-1-owner", "r": first_response})
    await redis.pexpire(old, DAY_MS // 2)

    await asyncio.to_thread(migrate_idempotency_records, infra.redis_url)  # what `gateway migrate` runs

    new = idempotency_record(DEFAULT_APPLICATION, idempotency_key)
    assert DAY_MS // 2 - 60_000 < await redis.pttl(new) <= DAY_MS // 2  # the time it had left, no more
    retried = await gateway.client.post(
        "/v1/notifications/send",
        json=body,
        headers={"Idempotency-Key": idempotency_key, "X-API-Key": OTHER_API_KEY},  # a rotated key
    )
    assert retried.status_code == 202, retried.text
    assert retried.content == first_response
    assert retried.headers["idempotent-replayed"] == "true"
    assert await redis.exists(old) == 1  # left to expire


@pytest.mark.redis_cluster
async def test_a_copy_never_overwrites_a_newer_record_and_a_second_run_changes_nothing(
    redis: RedisClient,
) -> None:
    keys = [f"k-{uuid.uuid4()}" for _ in range(3)]
    completed, in_flight, newer = keys
    await redis.hset(release_1_name(completed), mapping={"h": "h1", "o": "o1", "r": b"response-1"})
    await redis.hset(release_1_name(in_flight), mapping={"h": "h2", "o": "o2"})
    await redis.hset(release_1_name(newer), mapping={"h": "h3", "o": "o3", "r": b"old"})
    for key in keys:
        await redis.pexpire(release_1_name(key), 60_000)
    await redis.hset(idempotency_record(DEFAULT_APPLICATION, newer), mapping={"h": "h3", "o": "new", "r": b"new"})

    first = await copy_release_1_records(redis)
    assert first.copied >= 2
    assert await redis.hgetall(idempotency_record(DEFAULT_APPLICATION, completed)) == {
        b"h": b"h1",
        b"o": b"o1",
        b"r": b"response-1",
    }
    assert await redis.hgetall(idempotency_record(DEFAULT_APPLICATION, in_flight)) == {b"h": b"h2", b"o": b"o2"}
    assert await redis.hget(idempotency_record(DEFAULT_APPLICATION, newer), "r") == b"new"

    again = await copy_release_1_records(redis)
    assert again.copied == 0
    assert await redis.hgetall(idempotency_record(DEFAULT_APPLICATION, completed)) == {
        b"h": b"h1",
        b"o": b"o1",
        b"r": b"response-1",
    }

    await redis.hset(release_1_name(in_flight), "r", b"response-2")  # the release-1 gateway finished it since
    await copy_release_1_records(redis)
    assert await redis.hget(idempotency_record(DEFAULT_APPLICATION, in_flight), "r") == b"response-2"
    assert 0 < await redis.pttl(idempotency_record(DEFAULT_APPLICATION, in_flight)) <= 60_000


def test_only_release_1_record_names_have_a_new_name() -> None:
    assert release_2_name("gw:idem:0123456789abcdef:a:b") == idempotency_record(DEFAULT_APPLICATION, "a:b")
    assert release_2_name("gw:idem:0123456789abcdef:") is None
    assert release_2_name("gw:idem:nokey") is None
    assert release_2_name(f"gw:{{a:{DEFAULT_APPLICATION}}}:idem:x") is None
