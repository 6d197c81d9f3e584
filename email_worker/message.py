"""The email a notification becomes, as the bytes that go after SMTP ``DATA``: multipart/alternative text + HTML
when there is HTML, a ``Message-ID`` derived from the notification id (so a copy sent twice is recognisable),
the correlation id and the priority as headers.

Built by hand rather than with ``email.message.EmailMessage``, whose header machinery costs milliseconds per
message: every value is checked for line breaks (no header injection), non-ASCII or long header values are
RFC 2047-encoded and folded, and bodies are quoted-printable, which also makes the ``=_`` boundary safe (it
cannot occur in quoted-printable text).
"""

from __future__ import annotations

import binascii
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from common.envelope import is_transactional
from notification.v1 import notification_pb2 as pb
from unsubscribe.tokens import KeyRing, Unsubscription, unsubscribe_url

CRLF = "\r\n"
MAX_PLAIN_HEADER = 78
IMPORTANCE = {
    pb.PRIORITY_HIGH: ("high", "1 (Highest)"),
    pb.PRIORITY_LOW: ("low", "5 (Lowest)"),
}
NORMAL_IMPORTANCE = ("normal", "3 (Normal)")
ONE_CLICK = "List-Unsubscribe=One-Click"
"""The ``List-Unsubscribe-Post`` value of RFC 8058."""


def message_id(notification_id: str, domain: str) -> str:
    """The ``Message-ID`` of a notification's email: the same for every copy of it."""
    return f"<{notification_id}@{domain}>"


def sender_address(smtp_from: str) -> str:
    """The bare address of ``SMTP_FROM`` (which may carry a display name), for ``MAIL FROM``."""
    return parseaddr(smtp_from)[1] or smtp_from


def from_header(smtp_from: str) -> str:
    """The ``From`` header value for ``SMTP_FROM`` (computed once: parsing addresses is not free)."""
    return formataddr(parseaddr(no_line_break("sender", smtp_from)), "utf-8")


def sender_of(content: pb.EmailContent, default: str) -> str:
    """The ``From`` header value: the template's sender when it has one, else ``default`` (see
    :func:`from_header`)."""
    if not content.from_email:
        return default
    name = no_line_break("sender name", content.from_name)
    return formataddr((name, no_line_break("sender", content.from_email)), "utf-8")


def no_line_break(name: str, value: str) -> str:
    """``value``, or ``ValueError`` when it holds a line break (it would forge headers)."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} may not contain a line break")
    return value


def header_value(name: str, value: str) -> str:
    """``value`` ready for header ``name``: refused with ``ValueError`` when it holds a line break, encoded
    and folded when it is not short plain ASCII."""
    no_line_break(name, value)
    if value.isascii() and len(name) + 2 + len(value) <= MAX_PLAIN_HEADER:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep=CRLF)


def _quoted_printable(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    return binascii.b2a_qp(lines.encode(), istext=True).decode("ascii")


def _text_part(subtype: str, text: str) -> str:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}"
        f"{_quoted_printable(text)}"
    )


def _correlation_header(correlation_id: str) -> str | None:
    """The correlation id when it is safe as a header; a strange one is left out rather than fail the email."""
    if correlation_id and correlation_id.isascii() and correlation_id.isprintable() and len(correlation_id) <= 200:
        return correlation_id
    return None


class UnsubscribeLinks:
    """The one-click unsubscribe URL of each email of a non-transactional category (RFC 8058)."""

    def __init__(self, keys: KeyRing, public_base_url: str) -> None:
        self._keys = keys
        self._base_url = public_base_url

    def of(self, envelope: pb.MessageEnvelope) -> str | None:
        """The URL that opts the recipient out of the envelope's category; None for a transactional one.
        ``ValueError`` when the envelope cannot name who and what (then the email is not built)."""
        if is_transactional(envelope):
            return None
        unsubscription = Unsubscription(
            uuid.UUID(envelope.application_id), uuid.UUID(envelope.user_id), envelope.category
        )
        return unsubscribe_url(self._base_url, self._keys.sign(unsubscription))


def build_email(envelope: pb.MessageEnvelope, *, sender: str, domain: str, unsubscribe_url: str | None = None) -> bytes:
    """The email for ``envelope`` from its template's sender, or ``sender`` (see :func:`from_header`) when the
    template has none, with the RFC 8058 ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` headers when
    ``unsubscribe_url`` is given; ``ValueError`` when it cannot be built."""
    recipient = envelope.email_recipient
    content = envelope.email
    if not no_line_break("recipient address", recipient.address):
        raise ValueError("the recipient address is empty")
    importance, x_priority = IMPORTANCE.get(envelope.priority, NORMAL_IMPORTANCE)
    headers = [
        ("From", no_line_break("sender", sender_of(content, sender))),
        ("Reply-To", no_line_break("reply-to address", content.reply_to) or None),
        ("To", formataddr((no_line_break("recipient name", recipient.name), recipient.address), "utf-8")),
        ("Subject", header_value("Subject", content.subject)),
        ("Date", formatdate(usegmt=True)),
        ("Message-ID", message_id(envelope.notification_id, domain)),
        ("X-Correlation-ID", _correlation_header(envelope.correlation_id)),
        ("Importance", importance),
        ("X-Priority", x_priority),
        ("List-Unsubscribe", f"<{no_line_break('unsubscribe URL', unsubscribe_url)}>" if unsubscribe_url else None),
        ("List-Unsubscribe-Post", ONE_CLICK if unsubscribe_url else None),
        ("MIME-Version", "1.0"),
    ]
    head = "".join(f"{name}: {value}{CRLF}" for name, value in headers if value is not None)
    if not content.html_body:
        return (head + _text_part("plain", content.text_body) + CRLF).encode("ascii")
    boundary = f"=_{uuid.uuid4().hex}"
    body = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
        f"--{boundary}{CRLF}{_text_part('plain', content.text_body)}{CRLF}"
        f"--{boundary}{CRLF}{_text_part('html', content.html_body)}{CRLF}"
        f"--{boundary}--{CRLF}"
    )
    return (head + body).encode("ascii")
