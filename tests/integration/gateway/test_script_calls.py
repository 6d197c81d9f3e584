"""EVALSHAs of concurrent calls share a pipeline: each call gets its own reply or error, each runs exactly once,
and a script Redis does not know yet is loaded and only the calls that missed it are run again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ResponseError

from common.redis_client import RedisClient
from gateway.limits import ScriptCalls

pytestmark = pytest.mark.redis_cluster

COUNT = "return redis.call('INCR', KEYS[1]) -- {tag}"
FAIL_ON_ODD = "if tonumber(ARGV[1]) % 2 == 1 then return redis.error_reply('odd') end return ARGV[1] -- {tag}"


async def test_concurrent_calls_of_an_unloaded_script_each_run_once(redis: RedisClient) -> None:
    tag = uuid.uuid4().hex
    script = redis.register_script(COUNT.format(tag=tag))  # never loaded: the first pipeline meets NOSCRIPT
    key = f"test:script-calls:{tag}"
    calls = ScriptCalls(redis)
    replies = await asyncio.gather(*(calls.call(script, [key], []) for _ in range(50)))
    assert sorted(replies) == list(range(1, 51))
    assert int(await redis.get(key)) == 50
    assert await calls.call(script, [key], []) == 51
    await redis.delete(key)


async def test_an_error_reply_fails_only_its_own_call(redis: RedisClient) -> None:
    script = redis.register_script(FAIL_ON_ODD.format(tag=uuid.uuid4().hex))
    calls = ScriptCalls(redis)
    results = await asyncio.gather(*(calls.call(script, [], [n]) for n in range(6)), return_exceptions=True)
    assert [r if isinstance(r, bytes) else type(r) for r in results] == [
        b"0",
        ResponseError,
        b"2",
        ResponseError,
        b"4",
        ResponseError,
    ]
