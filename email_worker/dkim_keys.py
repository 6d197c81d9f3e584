"""The DKIM signer for an email's ``From`` domain, read from the sending domains the gateway stores and kept
for ``EMAIL_WORKER_DKIM_KEY_TTL_SECONDS`` (a rotated or removed key applies within that time).

A template's ``from_email`` is looked up among its application's sending domains; mail with the deployment's
default sender (``SMTP_FROM``) among the default application's, so registering that domain there (the dev
seed does) signs all of it. No key: the mail goes unsigned. A key that does not open (another
``DKIM_KEY_SECRET``) is logged and the mail goes unsigned rather than not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import asyncpg

from common.applications import DEFAULT_APPLICATION_ID
from common.db import plain_url
from common.dkim_keys import KeySealer, load_key
from email_worker.dkim_signing import DkimSigner

logger = logging.getLogger(__name__)

_KEY = "SELECT selector, private_key FROM sending_domains WHERE application_id = $1 AND domain = $2"
Owner = tuple[str, str]
"""(application id, domain)"""


def domain_of(address: str) -> str:
    """The lower-case domain of an email address."""
    return address.rpartition("@")[2].lower()


class DkimKeyring:
    """Signers by (application, domain), each read once per TTL; concurrent misses share one read."""

    def __init__(self, database_url: str, sealer: KeySealer, *, ttl_seconds: float, default_domain: str) -> None:
        self._database_url = database_url
        self._sealer = sealer
        self._ttl = ttl_seconds
        self._default_domain = default_domain.lower()
        self._pool: asyncpg.Pool | None = None
        self._held: dict[Owner, tuple[DkimSigner | None, float]] = {}
        self._reading: dict[Owner, asyncio.Task[DkimSigner | None]] = {}

    async def signer(self, application_id: str, from_email: str) -> DkimSigner | None:
        """The signer for mail of ``application_id`` from ``from_email`` (empty: the default sender), or None
        when its domain has no key. Raises ``OSError``/``asyncpg`` errors when the database cannot be read."""
        if from_email:
            owner = (application_id or str(DEFAULT_APPLICATION_ID), domain_of(from_email))  # release 1: none
        else:
            owner = (str(DEFAULT_APPLICATION_ID), self._default_domain)
        held = self._held.get(owner)
        if held is not None and held[1] >= time.monotonic():
            return held[0]
        reading = self._reading.get(owner)
        if reading is None:
            reading = self._reading[owner] = asyncio.create_task(self._read(owner))
            reading.add_done_callback(lambda _: self._reading.pop(owner, None))
        return await asyncio.shield(reading)

    async def _read(self, owner: Owner) -> DkimSigner | None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(plain_url(self._database_url), min_size=0, max_size=2)
        application_id, domain = owner
        try:
            row = await self._pool.fetchrow(_KEY, uuid.UUID(application_id), domain, timeout=5)
        except ValueError:  # not an application id: no application has keys for it
            row = None
        signer = None
        if row is not None:
            try:
                key = load_key(self._sealer.open(row["private_key"], application_id, domain))
                signer = DkimSigner(domain, row["selector"], key)
            except ValueError as error:  # another DKIM_KEY_SECRET, or an unusable key
                logger.error("DKIM: mail from %s goes unsigned: %s", domain, error)
        self._held[owner] = (signer, time.monotonic() + self._ttl)
        return signer

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
