"""An application's sending domains (docs/api.md "Sending domains"): the domains its templates may send
from, each with the DKIM key the email worker signs with. Every statement names the caller's application.

``PUT`` is idempotent: the first one generates an RSA-2048 key pair (or takes the one given) under a selector;
a repeat with the same selector changes nothing; another selector (a rotation) installs a new key under it.
Generating a key costs tens of milliseconds of CPU, so it runs on a thread."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from common.dkim_keys import KeySealer, dns_record_value, generate_key, load_key, private_pem

_COLUMNS = "domain, selector, dns_record, created_at, updated_at"
_LIST = f"SELECT {_COLUMNS} FROM sending_domains WHERE application_id = $1 ORDER BY domain"  # noqa: S608
_GET = f"SELECT {_COLUMNS} FROM sending_domains WHERE application_id = $1 AND domain = $2"  # noqa: S608
_INSERT = f"""
INSERT INTO sending_domains (application_id, domain, selector, private_key, dns_record) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (application_id, domain) DO NOTHING
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns
_REPLACE = f"""
UPDATE sending_domains SET selector = $3, private_key = $4, dns_record = $5, updated_at = now()
WHERE application_id = $1 AND domain = $2
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns
_REMOVE = "DELETE FROM sending_domains WHERE application_id = $1 AND domain = $2"


@dataclass(frozen=True, slots=True)
class SendingDomain:
    """A domain the application sends from, and where its DKIM public key is to be published."""

    domain: str
    selector: str
    dns_record: str
    created_at: datetime
    updated_at: datetime


def default_selector(now: datetime | None = None) -> str:
    """The selector a new key gets unless one is given: ``nsYYYYMM``, so a rotation a month later differs."""
    return f"ns{(now or datetime.now(UTC)):%Y%m}"


async def _key_pem(private_key: str | None) -> tuple[bytes, str]:
    """The PEM to store and its TXT record value: the given key's (``UnusableKey`` when it is none), or a new
    one's."""
    key = load_key(private_key.encode()) if private_key is not None else await asyncio.to_thread(generate_key)
    return private_pem(key), dns_record_value(key)


class SendingDomainStore:
    """Reads and writes ``sending_domains`` over the gateway's pool."""

    def __init__(self, pool: asyncpg.Pool, sealer: KeySealer) -> None:
        self._pool = pool
        self._sealer = sealer

    async def list(self, application_id: uuid.UUID) -> list[SendingDomain]:
        """Every sending domain of the application, by name."""
        return [SendingDomain(**row) for row in await self._pool.fetch(_LIST, application_id)]

    async def get(self, application_id: uuid.UUID, domain: str) -> SendingDomain | None:
        """The application's sending domain ``domain`` (lower-case), if it has it."""
        row = await self._pool.fetchrow(_GET, application_id, domain)
        return SendingDomain(**row) if row is not None else None

    async def put(
        self, application_id: uuid.UUID, domain: str, selector: str | None, private_key: str | None
    ) -> tuple[SendingDomain, bool]:
        """Register ``domain`` or change its key (see the module's docstring); True when it was added. Raises
        ``UnusableKey`` for a ``private_key`` that cannot sign."""
        found = await self.get(application_id, domain)
        if found is not None and private_key is None and selector in (None, found.selector):
            return found, False
        pem, record = await _key_pem(private_key)
        sealed = self._sealer.seal(pem, str(application_id), domain)
        arguments = (application_id, domain, selector or (found.selector if found else default_selector()))
        if found is None:
            row = await self._pool.fetchrow(_INSERT, *arguments, sealed, record)
            if row is not None:
                return SendingDomain(**row), True
            return await self.put(application_id, domain, selector, private_key)  # a concurrent PUT added it
        row = await self._pool.fetchrow(_REPLACE, *arguments, sealed, record)
        assert row is not None
        return SendingDomain(**row), False

    async def remove(self, application_id: uuid.UUID, domain: str) -> bool:
        """Forget ``domain`` and its key; False when the application did not have it."""
        status = await self._pool.execute(_REMOVE, application_id, domain)
        return status != "DELETE 0"
