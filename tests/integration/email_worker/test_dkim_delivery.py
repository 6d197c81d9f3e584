"""DKIM signing in the running email worker, with keys where the gateway stores them (sealed in
``sending_domains``): a template's domain signs with its application's key, the default sender with the
default application's, a domain without a key goes unsigned, and a rotated key applies after the cache TTL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common.applications import DEFAULT_APPLICATION_ID
from common.dkim_keys import KeySealer, dns_record_value, generate_key, private_pem, record_name
from common.settings import DEV_DKIM_KEY_SECRET
from notification.v1 import notification_pb2 as pb
from tests.integration.delivery.support import Gateway, email_envelope, running_worker, worker_settings
from tests.support.smtp_sink import RunningSmtpSink

SEALER = KeySealer.of(DEV_DKIM_KEY_SECRET)


class Dns:
    """The TXT records an operator published, for dkimpy's ``dnsfunc``."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    def publish(self, selector: str, domain: str, key: rsa.RSAPrivateKey) -> None:
        self.records[record_name(selector, domain)] = dns_record_value(key).encode()

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        return self.records.get(name.decode().rstrip("."))


@pytest.fixture
async def keys(db: asyncpg.Connection) -> AsyncIterator[list[tuple[uuid.UUID, str]]]:
    """The (application, domain) rows a test adds, removed after it."""
    added: list[tuple[uuid.UUID, str]] = []
    yield added
    for application_id, domain in added:
        await db.execute(
            "DELETE FROM sending_domains WHERE application_id = $1 AND domain = $2", application_id, domain
        )


async def add_key(
    db: asyncpg.Connection, added: list[tuple[uuid.UUID, str]], application_id: uuid.UUID, domain: str, selector: str
) -> rsa.RSAPrivateKey:
    key = generate_key()
    sealed = SEALER.seal(private_pem(key), str(application_id), domain)
    await db.execute(
        "INSERT INTO sending_domains (application_id, domain, selector, private_key, dns_record)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, domain)"
        " DO UPDATE SET selector = $3, private_key = $4, dns_record = $5",
        application_id,
        domain,
        selector,
        sealed,
        dns_record_value(key),
    )
    added.append((application_id, domain))
    return key


def sent(application_id: uuid.UUID, address: str, from_email: str = "") -> pb.MessageEnvelope:
    envelope = email_envelope(address)
    envelope.application_id = str(application_id)
    envelope.email.from_name = "Shop" if from_email else ""
    envelope.email.from_email = from_email
    return envelope


async def delivered_raw(gateway: Gateway, sink: RunningSmtpSink, envelope: pb.MessageEnvelope) -> bytes:
    await gateway.send(envelope)
    await gateway.wait_for_status(envelope.notification_id, "delivered")
    [mail] = await sink.messages(envelope.email_recipient.address)
    return await asyncio.to_thread(Path(mail["file"]).read_bytes)


async def test_mail_is_signed_with_the_key_of_its_from_domain(
    gateway: Gateway, sink: RunningSmtpSink, db: asyncpg.Connection, keys: list[tuple[uuid.UUID, str]]
) -> None:
    application_id = uuid.uuid4()
    domain = f"m{uuid.uuid4().hex[:8]}.example.org"
    dns = Dns()
    dns.publish("s1", domain, await add_key(db, keys, application_id, domain, "s1"))
    dns.publish("d1", "example.com", await add_key(db, keys, DEFAULT_APPLICATION_ID, "example.com", "d1"))

    ours = sent(application_id, f"{uuid.uuid4().hex[:8]}@example.net", f"shop@{domain}")
    default = sent(application_id, f"{uuid.uuid4().hex[:8]}@example.net")
    unknown = sent(application_id, f"{uuid.uuid4().hex[:8]}@example.net", "shop@unregistered.example.org")
    async with running_worker(worker_settings(sink)):
        ours_raw = await delivered_raw(gateway, sink, ours)
        default_raw = await delivered_raw(gateway, sink, default)
        unknown_raw = await delivered_raw(gateway, sink, unknown)

    assert dkim.verify(ours_raw, dnsfunc=dns)
    assert f"d={domain};".encode() in ours_raw
    assert b"From: Shop <shop@" in ours_raw
    assert dkim.verify(default_raw, dnsfunc=dns)
    assert b"d=example.com;" in default_raw
    assert b"DKIM-Signature" not in unknown_raw


async def test_a_rotated_key_is_used_once_the_cached_one_expires(
    gateway: Gateway, sink: RunningSmtpSink, db: asyncpg.Connection, keys: list[tuple[uuid.UUID, str]]
) -> None:
    application_id = uuid.uuid4()
    domain = f"m{uuid.uuid4().hex[:8]}.example.org"
    dns = Dns()
    dns.publish("s1", domain, await add_key(db, keys, application_id, domain, "s1"))
    async with running_worker(worker_settings(sink, dkim_key_ttl_seconds=0.5)):
        first = await delivered_raw(gateway, sink, sent(application_id, "r1@example.net", f"a@{domain}"))
        dns.publish("s2", domain, await add_key(db, keys, application_id, domain, "s2"))
        await asyncio.sleep(0.6)
        second = await delivered_raw(gateway, sink, sent(application_id, "r2@example.net", f"a@{domain}"))
    assert b" s=s1;" in first
    assert b" s=s2;" in second
    assert dkim.verify(first, dnsfunc=dns)
    assert dkim.verify(second, dnsfunc=dns)
