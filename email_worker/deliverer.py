"""The email channel's :class:`~delivery.outcome.Deliverer`: builds the email, sends it through the
pool, and classifies what the server said (docs/design.md §3).

- 2xx: delivered; the ``Message-ID`` is the provider message id (a feedback-loop report is matched by it), the
  server's reply goes into the history.
- 4xx and anything that is not an answer (connection refused, dropped, timed out): transient.
- 5xx: permanent, reason ``smtp_<code>``; a 5xx for the recipient (at RCPT) is a hard bounce, so the address
  is suppressed.
- A refusal while connecting (greeting, STARTTLS, AUTH) is transient whatever its code: it is the server or
  our configuration, not this message, and the circuit breaker should see it.

``MAIL FROM`` is the notification's VERP return path (:mod:`delivery.return_path`), so a later bounce finds it;
the ``From`` header stays ``SMTP_FROM``.
"""

from __future__ import annotations

from common.channels import Channel
from delivery.outcome import Delivered, DeliveryError, PermanentError, TransientError
from email_worker.message import build_email, from_header, message_id
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpRefused, SmtpSender, SmtpUnavailable
from notification.v1 import notification_pb2 as pb


def classify(error: SmtpRefused | SmtpUnavailable, recipient: str) -> DeliveryError:
    """The delivery error an SMTP failure means for one recipient."""
    if isinstance(error, SmtpUnavailable):
        return TransientError(str(error), detail={"smtp_error": str(error)})
    reply = error.reply
    detail = {"smtp_code": reply.code, "smtp_reply": reply.message, "smtp_stage": error.stage}
    if 500 <= reply.code < 600 and error.stage != "connect":
        suppress = recipient if error.stage == "rcpt" else None
        return PermanentError(str(reply), reason=f"smtp_{reply.code}", detail=detail, suppress_address=suppress)
    return TransientError(str(reply), detail=detail)


class EmailDeliverer:
    """Delivers email envelopes through an :class:`SmtpSender`."""

    channel = Channel.EMAIL

    def __init__(self, sender: SmtpSender, settings: EmailWorkerSettings) -> None:
        self._sender = sender
        self._from = from_header(settings.smtp_from)
        self._return_path = settings.return_path
        self._domain = settings.message_id_domain

    async def deliver(self, envelope: pb.MessageEnvelope) -> Delivered:
        """Send ``envelope``'s email; raise :class:`TransientError` or :class:`PermanentError` when it did not go."""
        recipient = envelope.email_recipient.address
        try:
            email = build_email(envelope, sender=self._from, domain=self._domain)
            mail_from = self._return_path.address(envelope.notification_id)
        except ValueError as error:
            raise PermanentError(f"cannot build the email: {error}", reason="invalid_message") from None
        try:
            reply = await self._sender.send(email, sender=mail_from, recipient=recipient)
        except (SmtpRefused, SmtpUnavailable) as error:
            raise classify(error, recipient) from None
        except ValueError as error:
            raise PermanentError(f"invalid recipient address: {error}", reason="invalid_address") from None
        return Delivered(
            provider_message_id=message_id(envelope.notification_id, self._domain),
            detail={"smtp_code": reply.code, "smtp_reply": reply.message},
        )

    async def close(self) -> None:
        """Close the SMTP connections."""
        await self._sender.close()
