"""Password hashing with Argon2id, off the event loop.

One hash costs tens of milliseconds of CPU at the default cost (time cost 2, 19 MiB), so hashing and verifying
run on a small thread pool (argon2-cffi releases the GIL), one thread per CPU so a burst cannot exhaust memory.
The pool takes at most ``queue_size`` jobs beyond those running; past that a call is refused at once with
RESOURCE_EXHAUSTED (the gateway answers 503 with ``Retry-After``) rather than queued behind work that would
outlast its caller's deadline. :meth:`Passwords.verify` with no stored hash checks against a dummy hash of the
same cost, so an unknown email takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from common.grpc.errors import ResourceExhausted

Result = TypeVar("Result")


class Passwords:
    """Hashes and verifies passwords at a fixed Argon2id cost, with a bounded backlog."""

    def __init__(self, *, time_cost: int, memory_kib: int, queue_size: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        threads = os.cpu_count() or 2
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._capacity = threads + queue_size
        self._admitted = 0
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The encoded hash of ``password`` (salt and parameters included)."""
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; with no hash, False after the same work."""
        return await self._run(self._verify, password_hash or self._dummy_hash, password_hash is not None, password)

    async def _run(self, job: Callable[..., Result], *args: object) -> Result:
        """``job(*args)`` on the pool; :class:`ResourceExhausted` when running and waiting jobs fill it."""
        if self._admitted >= self._capacity:
            raise ResourceExhausted("password hashing is at capacity; retry shortly")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job, *args)
        finally:
            self._admitted -= 1

    def _verify(self, password_hash: str, real: bool, password: str) -> bool:
        try:
            matched = self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and real

    def close(self) -> None:
        """Stop the thread pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
