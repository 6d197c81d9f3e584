"""The sink playing a recipient's mail system after it accepted a message, so the whole bounce loop runs locally:
for a recipient whose local part starts with

- ``bounce-`` (not followed by a code: ``bounce-550@`` is still refused at RCPT): an RFC 3464 DSN, 5.1.1,
- ``softbounce-``: an RFC 3464 delay warning, 4.2.2,
- ``complain-``: an RFC 5965 feedback report (``Feedback-Type: abuse``) quoting the message's headers,

mailed from the null sender to the message's return path (the report to ``fbl@`` its domain) at
``SMTP_SINK_REPORTS_TO`` (``host:port``, the inbound service). A report answered 4xx or not taken is sent again
every half second for a while, as a real mail system would.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import formatdate

import aiosmtplib

logger = logging.getLogger(__name__)

RETRY_SECONDS = 0.5
ATTEMPTS = 60
HARD = re.compile(r"^bounce-(?![45]\d\d(?:[+.@]|$))", re.IGNORECASE)
SOFT = re.compile(r"^softbounce-", re.IGNORECASE)
COMPLAINT = re.compile(r"^complain-", re.IGNORECASE)
CRLF = "\r\n"


@dataclass(frozen=True)
class Report:
    """A report to mail: who to, and its bytes."""

    to: str
    content: bytes


def _crlf(text: str) -> bytes:
    return text.replace("\n", CRLF).encode()


def _original_headers(content: bytes) -> str:
    head = content.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.decode("ascii", "replace").strip()


def delivery_status(return_path: str, recipient: str, content: bytes, *, hard: bool) -> Report:
    """A DSN about ``recipient``: failed 5.1.1 (``hard``) or delayed 4.2.2, with the original headers."""
    status, action = ("5.1.1", "failed") if hard else ("4.2.2", "delayed")
    diagnostic = (
        f"550 5.1.1 <{recipient}>: mailbox unavailable (dev SMTP sink)"
        if hard
        else f"452 4.2.2 <{recipient}>: mailbox full, still trying (dev SMTP sink)"
    )
    boundary = f"dsn-{uuid.uuid4().hex}"
    return Report(
        return_path,
        _crlf(f"""From: Mail Delivery System <MAILER-DAEMON@smtp-sink.local>
To: {return_path}
Subject: {"Undelivered Mail Returned to Sender" if hard else "Delayed Mail (still being retried)"}
Date: {formatdate(usegmt=True)}
Message-ID: <{boundary}@smtp-sink.local>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is the dev SMTP sink. Your message to <{recipient}> {"could not be delivered" if hard else "is delayed"}.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp-sink.local

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; smtp-sink.local
Diagnostic-Code: smtp; {diagnostic}

--{boundary}
Content-Type: text/rfc822-headers

{_original_headers(content)}

--{boundary}--
"""),
    )


def feedback_report(return_path: str, recipient: str, content: bytes) -> Report:
    """An ARF complaint about the message, to ``fbl@`` the return path's domain."""
    feedback_address = f"fbl@{return_path.rpartition('@')[2]}"
    boundary = f"arf-{uuid.uuid4().hex}"
    return Report(
        feedback_address,
        _crlf(f"""From: Feedback Loop <fbl@smtp-sink.local>
To: {feedback_address}
Subject: Complaint about a message
Date: {formatdate(usegmt=True)}
Message-ID: <{boundary}@smtp-sink.local>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report from the dev SMTP sink.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: dev-smtp-sink/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{recipient}>
Reporting-MTA: dns; smtp-sink.local

--{boundary}
Content-Type: text/rfc822-headers

{_original_headers(content)}

--{boundary}--
"""),
    )


def reports_for(return_path: str, recipients: list[str], content: bytes) -> list[Report]:
    """The reports the recipients' address prefixes ask for (none for a message without a return path)."""
    if "@" not in return_path or not BytesHeaderParser().parsebytes(content).get("Message-ID"):
        return []
    reports = []
    for recipient in recipients:
        if HARD.match(recipient) or SOFT.match(recipient):
            reports.append(delivery_status(return_path, recipient, content, hard=bool(HARD.match(recipient))))
        elif COMPLAINT.match(recipient):
            reports.append(feedback_report(return_path, recipient, content))
    return reports


class ReportMailer:
    """Mails reports to ``host:port`` in the background, retrying while they are not taken."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self._tasks: set[asyncio.Task[None]] = set()

    def mail(self, report: Report) -> None:
        """Send ``report`` soon (after the SMTP reply to the message it is about)."""
        task = asyncio.create_task(self._send(report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, report: Report) -> None:
        for _ in range(ATTEMPTS):
            await asyncio.sleep(RETRY_SECONDS)
            try:
                async with aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=10) as client:
                    await client.sendmail("", [report.to], report.content)
                logger.info("mailed a report to %s", report.to)
                return
            except aiosmtplib.SMTPRecipientsRefused as error:
                if all(refused.code >= 500 for refused in error.recipients):
                    logger.warning("the report to %s was refused: %s", report.to, error.recipients[0].message)
                    return
            except aiosmtplib.SMTPResponseException as error:
                if error.code >= 500:
                    logger.warning("the report to %s was refused: %s %s", report.to, error.code, error.message)
                    return
            except (aiosmtplib.SMTPException, OSError) as error:
                logger.info("cannot mail a report to %s yet (%s)", report.to, error)
        logger.warning("gave up mailing a report to %s", report.to)

    async def close(self) -> None:
        """Stop sending what is still pending."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
