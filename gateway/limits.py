"""Rate limits and idempotency in Redis.

A send makes one round trip (EVALSHA of ``send_gate.lua``) that checks and takes both rate limits (per
application and per recipient of the application) and claims the ``Idempotency-Key`` in the application; a
send with a key makes one more to store its response (or release the key when it failed). The EVALSHAs of
concurrent sends go to Redis together, in one pipeline (:class:`ScriptCalls`), since a round trip through the
client costs more CPU than Redis spends on the script. A request slower than its claim's lifetime renews the
claim while it works (:meth:`SendGate.kept`). Logins have limits of their own (:mod:`gateway.login_limits`).
Requests made with a user token are limited per user, by the same script. The keys are named in
:mod:`gateway.redis_keys`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import secrets
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from importlib.resources import files
from typing import Any

import orjson
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from common.batching import Batcher
from common.redis_client import RedisClient
from gateway.errors import ProblemError
from gateway.redis_keys import application_limiter, idempotency_record, recipient_limiter, user_token_limiter

logger = logging.getLogger(__name__)

_COMPLETE = """
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'r', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""

_RENEW = """
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'r') == 0 then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'r') == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _gate_script() -> str:
    """The source of ``send_gate.lua``."""
    return files("gateway").joinpath("send_gate.lua").read_text()


class Verdict(IntEnum):
    """What the gate decided about a send."""

    ADMITTED = 0
    RATE_LIMITED = 1
    REPLAY = 2
    KEY_REUSED = 3
    IN_FLIGHT = 4


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """The limit closest to running out, as the ``X-RateLimit-*`` headers report it."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """This request's hold on an idempotency record."""

    record: str
    owner: str


@dataclass(frozen=True, slots=True)
class Admission:
    """The gate's answer: the verdict, the limit headers, and what goes with the verdict."""

    verdict: Verdict
    rate: RateLimitState | None
    retry_after_seconds: int = 0
    stored_response: bytes | None = None
    claim: IdempotencyClaim | None = None

    def headers(self) -> dict[str, str]:
        return self.rate.headers() if self.rate else {}


def canonical_json(value: Any) -> bytes:
    """``value`` as JSON with sorted keys, so equal bodies give equal bytes (stdlib for integers orjson cannot
    hold)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def body_hash(canonical_body: bytes) -> str:
    """The fingerprint an idempotency record keeps of its request body."""
    return hashlib.blake2b(canonical_body, digest_size=16).hexdigest()


ScriptCall = tuple[AsyncScript, list[str], list[Any]]


class ScriptCalls:
    """Runs Lua scripts by EVALSHA, the calls made while a pipeline is in flight together in the next one (no
    timer: a lone call goes at once). A script Redis does not know (after a restart or SCRIPT FLUSH) is loaded
    and only the calls that failed for it are run again."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._batcher: Batcher[ScriptCall, Any] = Batcher(self._run, name="redis_gate")

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """The script's reply; raises the error Redis answered with, or the connection's."""
        reply = await self._batcher.submit((script, keys, args))
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _run(self, calls: Sequence[ScriptCall]) -> list[Any]:
        replies = await self._pipeline(calls)
        unknown = [index for index, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if unknown:
            for script in {calls[index][0] for index in unknown}:
                await self._redis.script_load(script.script)
            for index, reply in zip(unknown, await self._pipeline([calls[i] for i in unknown]), strict=True):
                replies[index] = reply
        return replies

    async def _pipeline(self, calls: Sequence[ScriptCall]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for script, keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))


class _Renewal:
    """Calls ``renew`` every ``interval`` seconds (a timer, not a task, until the first call) until stopped."""

    def __init__(self, renew: Callable[[], Coroutine[Any, Any, None]], interval: float) -> None:
        self._renew = renew
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._running: set[asyncio.Task[None]] = set()
        self._timer = self._loop.call_later(interval, self._fire)

    def _fire(self) -> None:
        task = self._loop.create_task(self._renew())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        self._timer = self._loop.call_later(self._interval, self._fire)

    def stop(self) -> None:
        self._timer.cancel()
        for task in list(self._running):
            task.cancel()


class SendGate:
    """Rate limits per application and per recipient, and idempotency keys scoped to the application."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        application_limit: int,
        user_limit: int,
        window_seconds: float,
        idempotency_ttl_seconds: int,
        claim_seconds: int,
    ) -> None:
        self._scripts = ScriptCalls(redis)
        self._gate = redis.register_script(_gate_script())
        self._complete = redis.register_script(_COMPLETE)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._window_ms = max(1, round(window_seconds * 1000))
        self._application_limit = application_limit
        self._user_limit = user_limit
        self._ttl_ms = idempotency_ttl_seconds * 1000
        self._claim_ms = claim_seconds * 1000
        self._renew_every = claim_seconds / 3

    async def admit(
        self,
        application_id: str,
        user_id: str,
        idempotency_key: str | None,
        fingerprint: str,
        *,
        application_limit: int | None = None,
    ) -> Admission:
        """Check and take both limits and claim ``idempotency_key``, atomically. ``application_limit`` is the
        application's own per-window limit; None = the deployment's."""
        keys = [application_limiter(application_id), recipient_limiter(application_id, user_id)]
        limit = self._application_limit if application_limit is None else application_limit
        return await self._run_gate(keys, application_id, idempotency_key, fingerprint, limit, self._user_limit)

    async def claim(self, application_id: str, idempotency_key: str, fingerprint: str) -> Admission:
        """Claim ``idempotency_key`` alone, taking no token (a batch takes its recipients' with
        :meth:`admit_each`); the verdict is never ``RATE_LIMITED``."""
        limiter = application_limiter(application_id)  # named, never touched: both limits are off
        return await self._run_gate([limiter, limiter], application_id, idempotency_key, fingerprint, 0, 0)

    async def admit_each(
        self, application_id: str, user_ids: Sequence[str], *, application_limit: int | None = None
    ) -> tuple[list[bool], RateLimitState | None]:
        """Take one token of the application and one of each recipient among ``user_ids`` (one gate call each,
        sent together in one pipeline): whether each was admitted, in order, and the limit closest to running
        out afterwards."""
        admissions = await asyncio.gather(
            *(
                self.admit(application_id, user_id, None, "", application_limit=application_limit)
                for user_id in user_ids
            )
        )
        rates = [admission.rate for admission in admissions if admission.rate is not None]
        closest = min(rates, key=lambda rate: rate.remaining, default=None)
        return [admission.verdict is Verdict.ADMITTED for admission in admissions], closest

    async def _run_gate(
        self,
        keys: list[str],
        application_id: str,
        idempotency_key: str | None,
        fingerprint: str,
        application_limit: int,
        user_limit: int,
    ) -> Admission:
        """One call of ``send_gate.lua`` on the limiters ``keys`` (and the key's record), as an admission."""
        if idempotency_key:
            keys.append(idempotency_record(application_id, idempotency_key))
        owner = secrets.token_hex(8)
        reply = await self._scripts.call(
            self._gate, keys, [self._window_ms, application_limit, user_limit, fingerprint, owner, self._claim_ms]
        )
        verdict = Verdict(int(reply[0]))
        limit = int(reply[1])
        rate = RateLimitState(limit, int(reply[2]), math.ceil(int(reply[3]) / 1000)) if limit >= 0 else None
        return Admission(
            verdict=verdict,
            rate=rate,
            retry_after_seconds=max(1, math.ceil(int(reply[4]) / 1000)) if int(reply[4]) > 0 else 0,
            stored_response=bytes(reply[5]) if verdict is Verdict.REPLAY else None,
            claim=IdempotencyClaim(keys[2], owner) if idempotency_key and verdict is Verdict.ADMITTED else None,
        )

    async def complete(self, claim: IdempotencyClaim, response: bytes) -> None:
        """Keep ``response`` as the answer to every repeat of the claimed request, for the record's lifetime."""
        await self._scripts.call(self._complete, [claim.record], [claim.owner, response, self._ttl_ms])

    @contextlib.contextmanager
    def kept(self, claim: IdempotencyClaim | None) -> Iterator[None]:
        """Renew ``claim`` every third of its lifetime while the block runs: a request slower than the lifetime
        keeps its key from a retry, and the claim of a gateway that died still lapses within the lifetime."""
        if claim is None:
            yield
            return
        renewal = _Renewal(lambda: self._renew_claim(claim), self._renew_every)
        try:
            yield
        finally:
            renewal.stop()

    async def _renew_claim(self, claim: IdempotencyClaim) -> None:
        try:
            renewed = await self._scripts.call(self._renew, [claim.record], [claim.owner, self._claim_ms])
        except Exception:
            logger.warning("could not renew an idempotency claim; the next renewal tries again", exc_info=True)
            return
        if not renewed:
            logger.warning("the idempotency claim of a request in flight was gone when renewed")

    async def release(self, claim: IdempotencyClaim) -> None:
        """Forget the claim of a request that failed, so its key can be used again."""
        await self._scripts.call(self._release, [claim.record], [claim.owner])


class UserTokenLimit:
    """Requests made with a user token, per user: the send gate's token bucket on a key of its own (its
    application limit off, no idempotency record), so a stolen or scripted token cannot hammer user_svc."""

    def __init__(self, redis: RedisClient, *, limit: int, window_seconds: float) -> None:
        self._scripts = ScriptCalls(redis)
        self._gate = redis.register_script(_gate_script())
        self._limit = limit
        self._window_ms = max(1, round(window_seconds * 1000))

    async def admit(self, application_id: str, user_id: str) -> None:
        """Take one request from the bucket of the user of ``application_id``; 429 with ``Retry-After`` when it
        is empty (0 = no limit)."""
        if self._limit <= 0:
            return
        bucket = user_token_limiter(application_id, user_id)
        reply = await self._scripts.call(self._gate, [bucket, bucket], [self._window_ms, 0, self._limit, "", "", 0])
        if Verdict(int(reply[0])) is Verdict.RATE_LIMITED:
            rate = RateLimitState(int(reply[1]), int(reply[2]), math.ceil(int(reply[3]) / 1000))
            wait = max(1, math.ceil(int(reply[4]) / 1000))
            raise ProblemError(
                429,
                "too many requests with this user's token; try again later",
                headers={"Retry-After": str(wait), **rate.headers()},
            )
