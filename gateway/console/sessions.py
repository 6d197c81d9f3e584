"""Console sessions, kept server-side in Redis: the signed-in key encrypted with a key derived from
``JWT_SECRET``, a CSRF token, and what ``GET /v1/auth/whoami`` said. The browser holds only a random session id;
Redis holds only its hash, so neither a leaked cookie store nor a Redis dump alone yields a usable API key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.redis_client import RedisClient

IDLE_SECONDS = 30 * 60
"""A session unused this long is gone (every request it makes restarts the clock)."""
COOKIE = "console_session"


def session_cipher(secret: str) -> Fernet:
    """The Fernet cipher of the keys kept in sessions, derived from ``secret`` (JWT_SECRET) with HKDF so the
    signing secret itself never encrypts anything."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"notification-console-session-v1").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in operator: the API key, the CSRF token of its forms, and the key's identity."""

    session_id: str
    api_key: str
    csrf_token: str
    identity: dict[str, Any]
    acting_in: str | None = None
    """The application the operator's key acts in (sent as ``X-Application-Id``); None: the key's own."""

    @property
    def who(self) -> str:
        """How the audit log names the key: ``admin`` or the key's id (never the secret)."""
        if self.identity.get("admin"):
            return "admin"
        return str(self.identity.get("key_id") or f"app:{self.identity.get('application_id')}")

    @property
    def application_id(self) -> str:
        """The application this session's requests act in."""
        return self.acting_in or str(self.identity.get("application_id", ""))

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.identity.get("scopes", ()))

    @property
    def admin(self) -> bool:
        return bool(self.identity.get("admin"))

    def can(self, scope: str) -> bool:
        """Whether the key holds ``scope`` (pages and buttons it lacks are not offered)."""
        return scope in self.scopes

    def csrf_valid(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf_token.encode())


class SessionStore:
    """Creates, finds (restarting the idle clock) and ends sessions."""

    def __init__(self, redis: RedisClient, cipher: Fernet, idle_seconds: int = IDLE_SECONDS) -> None:
        self._redis = redis
        self._cipher = cipher
        self._idle = idle_seconds

    @staticmethod
    def _name(session_id: str) -> str:
        return f"console:{{s:{hashlib.sha256(session_id.encode()).hexdigest()}}}"

    async def create(self, api_key: str, identity: dict[str, Any]) -> Session:
        """A new session for ``api_key``, whose ``whoami`` answer is ``identity``."""
        session = Session(secrets.token_urlsafe(32), api_key, secrets.token_urlsafe(32), identity)
        record = {
            "key": self._cipher.encrypt(api_key.encode()).decode(),
            "csrf": session.csrf_token,
            "identity": identity,
        }
        await self._redis.set(self._name(session.session_id), orjson.dumps(record), ex=self._idle)
        return session

    async def find(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id`` (its idle clock restarted), or None."""
        if not session_id or len(session_id) > 128:
            return None
        name = self._name(session_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(name)
            pipe.expire(name, self._idle)
            raw, _ = await pipe.execute()
        if raw is None:
            return None
        record = orjson.loads(raw)
        try:
            api_key = self._cipher.decrypt(record["key"].encode()).decode()
        except InvalidToken:  # JWT_SECRET changed since: sign in again
            return None
        return Session(session_id, api_key, record["csrf"], record["identity"], record.get("acting"))

    async def act_in(self, session: Session, application_id: str) -> None:
        """Make the operator's session act in ``application_id`` from its next request on."""
        name = self._name(session.session_id)
        raw = await self._redis.get(name)
        if raw is not None:
            record = orjson.loads(raw)
            record["acting"] = application_id
            await self._redis.set(name, orjson.dumps(record), keepttl=True, xx=True)

    async def end(self, session_id: str) -> None:
        await self._redis.delete(self._name(session_id))
