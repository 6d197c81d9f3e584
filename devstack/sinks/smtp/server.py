"""The sink's SMTP side (aiosmtpd on the running event loop) and :class:`SmtpSink`, which runs it together with
the HTTP side."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from common.http_server import HttpServer
from devstack.sinks.smtp.http import create_app
from devstack.sinks.smtp.mailbox import Failures, Mailbox
from devstack.sinks.smtp.reports import ReportMailer, reports_for

logger = logging.getLogger(__name__)


class SinkHandler:
    """aiosmtpd hooks: refuse recipients the failure rules name, store what is accepted, and answer it with a
    bounce or complaint when its recipients ask for one (:mod:`devstack.sinks.smtp.reports`)."""

    def __init__(self, mailbox: Mailbox, failures: Failures, reports: ReportMailer | None = None) -> None:
        self.mailbox = mailbox
        self.failures = failures
        self.reports = reports

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.failures.refusal(address)
        if refusal is not None:
            logger.info("refused %s: %s", address, refusal)
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        login = getattr(session.auth_data, "login", None)
        user = login.decode(errors="replace") if isinstance(login, bytes) else login
        message_id = self.mailbox.store(str(envelope.mail_from), list(envelope.rcpt_tos), content, user)
        if self.reports is not None:
            for report in reports_for(str(envelope.mail_from), list(envelope.rcpt_tos), content):
                self.reports.mail(report)
        return f"250 2.0.0 OK: queued as {message_id}"


_PLAIN_ANGLE_ADDRESS = re.compile(r"<([^<>\s\"@()\[\],;:\\\\]+@[^<>\s\"@()\[\],;:\\\\]+)>(.*)", re.DOTALL)


class SinkSMTP(SMTP):
    """aiosmtpd's SMTP with a cheap reading of the usual ``<local@domain>`` argument of MAIL and RCPT (the
    stock parser builds a class on every call and goes through the email header parser: a third of the sink's
    CPU per message). Anything else still goes to the stock parser."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        match = _PLAIN_ANGLE_ADDRESS.match(arg.lstrip())
        if match is None:
            return super()._getaddr(arg)
        address, rest = match.groups()
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest.lstrip()


def _accept_any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class SmtpSink:
    """The sink: SMTP on ``host:smtp_port`` and HTTP on ``host:http_port`` (0 picks a free port; the bound
    ports are in ``smtp_port`` and ``http_port`` after :meth:`start`); bounces and complaints go to
    ``reports_to`` (``host:port``), none when it is None."""

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = 1025,
        http_port: int = 1080,
        reports_to: str | None = None,
    ):
        self.mailbox = Mailbox(directory)
        self.failures = Failures()
        self.host = host
        self.smtp_port = smtp_port
        self._reports = ReportMailer(reports_to) if reports_to else None
        self._handler = SinkHandler(self.mailbox, self.failures, self._reports)
        self._http = HttpServer(create_app(self.mailbox, self.failures), host, http_port)
        self.http_port = self._http.port
        self._smtp: asyncio.Server | None = None

    def _protocol(self) -> SMTP:
        return SinkSMTP(
            self._handler,
            hostname="smtp-sink.local",
            ident="dev SMTP sink",
            auth_require_tls=False,
            authenticator=_accept_any_login,
        )

    async def start(self) -> None:
        """Start both servers."""
        self._smtp = await asyncio.get_running_loop().create_server(self._protocol, self.host, self.smtp_port)
        self.smtp_port = self._smtp.sockets[0].getsockname()[1]
        await self._http.start()

    async def stop(self) -> None:
        """Stop both servers."""
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()
        if self._reports is not None:
            await self._reports.close()
        await self._http.stop()
