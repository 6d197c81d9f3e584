"""Sending over SMTP with aiosmtplib through a small pool of connections that are reused across messages
and re-opened when they drop (none, STARTTLS or implicit TLS; optional AUTH)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from email_worker.relays import Relay
    from email_worker.settings import EmailWorkerSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpReply:
    """The server's answer to a message: code and text."""

    code: int
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


class SmtpRefused(Exception):
    """The server answered with an error code; ``stage`` is where: ``connect`` (greeting, TLS, AUTH), ``mail``,
    ``rcpt``, ``data`` or ``session`` (another command)."""

    def __init__(self, reply: SmtpReply, stage: str) -> None:
        super().__init__(str(reply))
        self.reply = reply
        self.stage = stage


class SmtpUnavailable(Exception):
    """No answer: the connection could not be opened, dropped or timed out."""


class SmtpSender:
    """Sends one message at a time per pooled connection to one relay; ``pool_size`` connections at most."""

    def __init__(self, settings: EmailWorkerSettings, relay: Relay) -> None:
        self.host = relay.host
        self.port = relay.port
        self._settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        for _ in range(settings.smtp_pool_size):
            self._idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: bytes, *, sender: str, recipient: str) -> SmtpReply:
        """Send ``message`` (the bytes after ``DATA``) to ``recipient``; raises :class:`SmtpRefused`,
        :class:`SmtpUnavailable`, or ``ValueError`` for an address SMTP cannot carry.

        A pooled connection that turns out to have been dropped by the server while idle is re-opened and
        the message sent once more on the fresh one.
        """
        async with self._connection() as client:
            for reused in (client.is_connected, False):
                if not client.is_connected:
                    await self._open(client)
                try:
                    _, text = await client.sendmail(sender, [recipient], message)
                    return SmtpReply(250, text)
                except aiosmtplib.SMTPServerDisconnected as error:
                    client.close()
                    if not reused:
                        raise SmtpUnavailable(f"connection to {self.host}:{self.port} dropped: {error}") from None
                    logger.info("pooled SMTP connection had dropped; reconnecting")
                except aiosmtplib.SMTPRecipientsRefused as error:
                    refused = error.recipients[0]
                    raise SmtpRefused(SmtpReply(refused.code, refused.message), "rcpt") from None
                except aiosmtplib.SMTPSenderRefused as error:
                    raise SmtpRefused(SmtpReply(error.code, error.message), "mail") from None
                except aiosmtplib.SMTPResponseException as error:
                    stage = "data" if isinstance(error, aiosmtplib.SMTPDataError) else "session"
                    raise SmtpRefused(SmtpReply(error.code, error.message), stage) from None
                except (aiosmtplib.SMTPException, OSError) as error:
                    client.close()
                    raise SmtpUnavailable(f"SMTP {self.host}:{self.port}: {error}") from None
        raise AssertionError("unreachable")

    async def _open(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as error:
            client.close()
            raise SmtpRefused(SmtpReply(error.code, error.message), "connect") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise SmtpUnavailable(f"cannot connect to SMTP {self.host}:{self.port}: {error}") from None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        client = await self._idle.get()
        try:
            yield client
        except asyncio.CancelledError:
            client.close()  # interrupted mid-transaction: its state is unknown
            raise
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                try:
                    await asyncio.wait_for(client.quit(), timeout=2)
                except Exception:
                    client.close()
