"""The email a notification becomes: multipart text + HTML when there is HTML, a ``Message-ID`` derived from
the notification id (so a copy sent twice is recognisable), the correlation id and the priority as headers."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from notification.v1 import notification_pb2 as pb

IMPORTANCE = {
    pb.PRIORITY_HIGH: ("high", "1 (Highest)"),
    pb.PRIORITY_LOW: ("low", "5 (Lowest)"),
}
NORMAL_IMPORTANCE = ("normal", "3 (Normal)")


def message_id(notification_id: str, domain: str) -> str:
    """The ``Message-ID`` of a notification's email: the same for every copy of it."""
    return f"<{notification_id}@{domain}>"


def sender_address(smtp_from: str) -> str:
    """The bare address of ``SMTP_FROM`` (which may carry a display name), for ``MAIL FROM``."""
    return parseaddr(smtp_from)[1] or smtp_from


def build_email(envelope: pb.MessageEnvelope, *, sender: str, domain: str) -> EmailMessage:
    """The email for ``envelope`` from ``sender``; raises ``ValueError`` for an unusable address or header."""
    recipient = envelope.email_recipient
    content = envelope.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.address)
    message["Subject"] = content.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(envelope.notification_id, domain)
    if envelope.correlation_id:
        message["X-Correlation-ID"] = envelope.correlation_id
    importance, x_priority = IMPORTANCE.get(envelope.priority, NORMAL_IMPORTANCE)
    message["Importance"] = importance
    message["X-Priority"] = x_priority
    message.set_content(content.text_body)
    if content.html_body:
        message.add_alternative(content.html_body, subtype="html")
    return message
