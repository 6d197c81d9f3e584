"""``POST /test-email`` (the original system's): send one message straight through the configured SMTP
server, bypassing the queue, and answer with the server's reply, so an operator can check the SMTP settings.
It takes its own operator key (``EMAIL_WORKER_TEST_KEY``, header ``X-Test-Key``), never the mesh-wide internal
key, and is not served at all (404) while that key is unset (docs/operations.md, Security)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from common.ids import new_notification_id
from delivery.http import HttpProblem, key_check
from email_worker.message import build_email, from_header, message_id, sender_address
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpRefused, SmtpSender, SmtpUnavailable
from notification.v1 import notification_pb2 as pb

ADDRESS_PATTERN = r"^[^@\s<>]+@[^@\s<>]+$"
NO_LINE_BREAKS = r"^[^\r\n]*$"
TEST_KEY_HEADER = "X-Test-Key"


class TestEmailRequest(BaseModel):
    """What to send."""

    to: str = Field(pattern=ADDRESS_PATTERN, max_length=254, description="the recipient address")
    subject: str = Field(default="Test email from the notification system", max_length=998, pattern=NO_LINE_BREAKS)
    text: str = Field(default="This is a test email sent through POST /test-email.", max_length=100_000)
    html: str | None = Field(default=None, max_length=100_000)


class TestEmailReply(BaseModel):
    """The SMTP server accepted the message."""

    accepted: bool
    message_id: str
    smtp_code: int
    smtp_reply: str


def test_email_router(sender: SmtpSender, settings: EmailWorkerSettings) -> APIRouter:
    """The router with ``POST /test-email`` sending through ``sender``; empty when no test key is set."""
    router = APIRouter()
    if not settings.test_key:
        return router
    require_key = key_check(TEST_KEY_HEADER, settings.test_key)
    sender_header = from_header(settings.smtp_from)

    @router.post("/test-email", dependencies=[Depends(require_key)])
    async def send_test_email(request: TestEmailRequest) -> TestEmailReply:
        """Send one email now; 502 with the server's reply when it refuses or cannot be reached."""
        envelope = pb.MessageEnvelope(
            notification_id=str(new_notification_id()),
            priority=pb.PRIORITY_NORMAL,
            email_recipient=pb.EmailRecipient(address=request.to),
            email=pb.EmailContent(subject=request.subject, text_body=request.text, html_body=request.html or ""),
        )
        try:
            email = build_email(envelope, sender=sender_header, domain=settings.message_id_domain)
        except ValueError as error:
            raise HttpProblem(422, "Unprocessable Content", f"cannot build the email: {error}") from None
        try:
            reply = await sender.send(email, sender=sender_address(settings.smtp_from), recipient=request.to)
        except SmtpRefused as error:
            raise HttpProblem(
                502,
                "Bad Gateway",
                f"the SMTP server refused the message: {error.reply}",
                smtp_code=error.reply.code,
                smtp_reply=error.reply.message,
            ) from None
        except SmtpUnavailable as error:
            raise HttpProblem(502, "Bad Gateway", str(error)) from None
        except ValueError as error:
            raise HttpProblem(422, "Unprocessable Content", f"invalid recipient address: {error}") from None
        return TestEmailReply(
            accepted=True,
            message_id=message_id(envelope.notification_id, settings.message_id_domain),
            smtp_code=reply.code,
            smtp_reply=reply.message,
        )

    return router
