"""Reading the mail that comes back with the standard library's ``email`` package: RFC 3464 delivery status
notifications (bounces and delay warnings) and RFC 5965 feedback reports (complaints). Pure functions over
the message bytes; anything they cannot read is :class:`Unreadable`, never an exception of another kind."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from enum import Enum

_STATUS = re.compile(r"^\s*(?P<code>[245]\.\d{1,3}\.\d{1,3})\b")
_TYPED_VALUE = re.compile(r"^\s*[\w-]+\s*;\s*(?P<value>.*)$", re.DOTALL)
_ANGLE = re.compile(r"<([^<>]*)>")
NOT_A_COMPLAINT = "not-spam"
"""RFC 6650's Feedback-Type that says the opposite of a complaint."""


class Unreadable(ValueError):
    """The message is not a report this service reads (malformed, or another kind of mail)."""


class Severity(Enum):
    """What a delivery status notification says happened to the message."""

    BOUNCED = "bounced"
    """5.x.x: the receiving system refused it for good."""
    DELAYED = "delayed"
    """4.x.x: it is still trying (or gave up on a temporary failure)."""


@dataclass(frozen=True)
class DeliveryReport:
    """One recipient's block of a DSN (the first that failed or was delayed)."""

    severity: Severity
    status: str
    """The enhanced status code, e.g. ``5.1.1``."""
    action: str
    recipient: str | None
    """The ``Final-Recipient`` (else ``Original-Recipient``) address."""
    diagnostic: str | None
    remote_mta: str | None
    reporting_mta: str | None

    def detail(self) -> dict[str, str]:
        """The report as the event history shows it (what the mail system said, not whom it was about)."""
        fields = {
            "dsn_status": self.status,
            "dsn_action": self.action,
            "diagnostic_code": self.diagnostic,
            "remote_mta": self.remote_mta,
            "reporting_mta": self.reporting_mta,
        }
        return {name: value for name, value in fields.items() if value}


@dataclass(frozen=True)
class ComplaintReport:
    """A feedback-loop report: who complained about which message."""

    feedback_type: str
    message_id: str
    """The ``Message-ID`` of the original message, without its angle brackets."""
    recipient: str | None
    """``Original-Rcpt-To`` when the provider kept it (many redact it)."""


def parse(content: bytes) -> Message:
    """The message in ``content`` (the bytes after ``DATA``)."""
    return BytesParser(policy=policy.compat32).parsebytes(content)


def _text(value: object) -> str | None:
    """A header value unfolded and stripped, or None when absent or empty."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _typed(value: object) -> str | None:
    """The value of an RFC 3464 ``type; value`` field (``rfc822; ada@example.com`` → ``ada@example.com``)."""
    text = _text(value)
    if text is None:
        return None
    match = _TYPED_VALUE.match(text)
    return (match["value"].strip() if match else text) or None


def _address(value: object) -> str | None:
    """A bare address out of a typed field that may wrap it in angle brackets."""
    text = _typed(value)
    if text is None:
        return None
    match = _ANGLE.search(text)
    address = (match.group(1) if match else text).strip()
    return address if "@" in address else None


def _report_parts(message: Message, report_type: str) -> list[Message]:
    """The parts of a ``multipart/report; report-type=<report_type>``; :class:`Unreadable` otherwise."""
    if message.get_content_type() != "multipart/report":
        raise Unreadable(f"not a report: {message.get_content_type()}")
    if str(message.get_param("report-type") or "").lower() != report_type:
        raise Unreadable(f"not a {report_type} report")
    parts = message.get_payload()
    if not isinstance(parts, list):
        raise Unreadable("a report without parts")
    return [part for part in parts if isinstance(part, Message)]


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``message/feedback-report`` part, whether the parser
    split them into messages or left them as text (``text/plain`` reports from some systems)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n[ \t]*\r?\n", raw.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def delivery_report(content: bytes) -> DeliveryReport:
    """The failed or delayed recipient of an RFC 3464 DSN; :class:`Unreadable` when it is no such DSN or says
    only that the message was delivered, relayed or expanded."""
    parts = _report_parts(parse(content), "delivery-status")
    status_part = next((part for part in parts if part.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        raise Unreadable("a delivery-status report without a message/delivery-status part")
    blocks = _field_blocks(status_part)
    if len(blocks) < 2:
        raise Unreadable("a delivery-status part without a recipient block")
    reporting_mta = _typed(blocks[0]["Reporting-MTA"])
    for block in blocks[1:]:
        match = _STATUS.match(str(block["Status"] or ""))
        if match is None or match["code"][0] == "2":
            continue
        code = match["code"]
        return DeliveryReport(
            severity=Severity.BOUNCED if code[0] == "5" else Severity.DELAYED,
            status=code,
            action=(_text(block["Action"]) or "").lower(),
            recipient=_address(block["Final-Recipient"]) or _address(block["Original-Recipient"]),
            diagnostic=_typed(block["Diagnostic-Code"]),
            remote_mta=_typed(block["Remote-MTA"]),
            reporting_mta=reporting_mta,
        )
    raise Unreadable("no recipient block with a 4.x.x or 5.x.x status")


def _original_headers(part: Message) -> Message:
    """The headers of the original message in a report's third part (``message/rfc822`` or
    ``text/rfc822-headers``)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    return HeaderParser().parsestr(raw)


def complaint_report(content: bytes) -> ComplaintReport:
    """The complaint in an RFC 5965 feedback report, with the original message's ``Message-ID``;
    :class:`Unreadable` when it is no such report, names no message, or says ``not-spam``."""
    parts = _report_parts(parse(content), "feedback-report")
    feedback = next((part for part in parts if part.get_content_type() == "message/feedback-report"), None)
    if feedback is None:
        raise Unreadable("a feedback report without a message/feedback-report part")
    fields = _field_blocks(feedback)
    if not fields:
        raise Unreadable("an empty message/feedback-report part")
    feedback_type = (_text(fields[0]["Feedback-Type"]) or "").lower()
    if not feedback_type:
        raise Unreadable("a feedback report without a Feedback-Type")
    if feedback_type == NOT_A_COMPLAINT:
        raise Unreadable("a not-spam report is no complaint")
    original = next(
        (part for part in parts if part.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None
    )
    message_id = _text(_original_headers(original)["Message-ID"]) if original is not None else None
    if not message_id:
        raise Unreadable("a feedback report without the original message's Message-ID")
    return ComplaintReport(
        feedback_type=feedback_type,
        message_id=message_id.strip("<>"),
        recipient=_address(fields[0]["Original-Rcpt-To"]),
    )
