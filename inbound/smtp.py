"""inbound's SMTP side (aiosmtpd): who may be mailed, and what happens to what arrives.

RCPT: only a return path whose tag we made (``b+<id>.<tag>@BOUNCE_DOMAIN``) or ``fbl@BOUNCE_DOMAIN``; anything
else is refused with 550, so forged tags never reach the database. DATA: each recipient's report is read and
recorded (:mod:`inbound.records`); mail that is no report is counted and dropped with 250 (refusing it would
only make the sender's system bounce the bounce). A report that cannot be recorded now (database down, the
notification still ``sending``) is answered 451 so the reporting system sends it again later.
"""

from __future__ import annotations

import logging

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session

from delivery.return_path import ReturnPath
from inbound import metrics
from inbound.records import NotYetDelivered, Records
from inbound.reports import Unreadable, complaint_report, delivery_report

logger = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 OK"
NO_SUCH_MAILBOX = "550 5.1.1 no such mailbox here"
TRY_LATER = "451 4.3.0 cannot record this report now; try again later"
MALFORMED = "malformed"


class InboundHandler:
    """aiosmtpd hooks over the return paths of one deployment and the database records."""

    def __init__(self, return_path: ReturnPath, records: Records) -> None:
        self._return_path = return_path
        self._records = records

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept only our return paths and the feedback-loop address."""
        if self._return_path.is_feedback_address(address) or self._return_path.notification_id(address):
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        metrics.RECIPIENTS_REFUSED.inc()
        logger.info("refused RCPT %r: not a return path of ours", address[:200])
        return NO_SUCH_MAILBOX

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the report for each recipient; 451 when one cannot be recorded now."""
        content = envelope.original_content or b""
        try:
            for recipient in envelope.rcpt_tos:
                outcome = await self._record(recipient, content)
                metrics.REPORTS.labels(outcome).inc()
        except NotYetDelivered as early:
            logger.info("a bounce of %s arrived while it is still sending: asked to send it again later", early)
            metrics.DEFERRED.inc()
            return TRY_LATER
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("cannot record a report (%s): asked to send it again later", error)
            metrics.DEFERRED.inc()
            return TRY_LATER
        return ACCEPTED

    async def _record(self, recipient: str, content: bytes) -> str:
        """What the report to ``recipient`` did (the metric's outcome label)."""
        notification_id = self._return_path.notification_id(recipient)
        try:
            if notification_id is not None:
                outcome = await self._records.delivery(notification_id, delivery_report(content))
            else:
                outcome = await self._records.complaint(complaint_report(content))
        except Unreadable as error:
            logger.info("dropped mail to %s: %s", recipient, error)
            return MALFORMED
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, NotYetDelivered):
            raise
        except Exception:  # mail is input from anyone: nothing in it may stop the service
            logger.warning("dropped mail to %s that could not be read", recipient, exc_info=True)
            return MALFORMED
        logger.info("report to %s: %s", recipient, outcome.value)
        return outcome.value


def inbound_protocol(handler: InboundHandler, *, hostname: str, max_message_bytes: int) -> SMTP:
    """One SMTP session's protocol object (a new one per connection)."""
    return SMTP(handler, hostname=hostname, ident="inbound", data_size_limit=max_message_bytes)
