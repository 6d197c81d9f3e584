"""Password hashing with Argon2id, off the event loop.

One hash costs tens of milliseconds of CPU at the default cost (time cost 2, 19 MiB), so hashing and verifying
run on a small thread pool (argon2-cffi releases the GIL), bounded to the CPU count
so a burst cannot exhaust memory. :meth:`Passwords.verify` with no stored hash checks against a dummy hash
of the same cost, so an unknown email takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and verifies passwords at a fixed Argon2id cost."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The encoded hash of ``password`` (salt and parameters included)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; with no hash, False after the same work."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, password_hash or self._dummy_hash, password_hash is not None, password
        )

    def _verify(self, password_hash: str, real: bool, password: str) -> bool:
        try:
            matched = self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and real

    def close(self) -> None:
        """Stop the thread pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
