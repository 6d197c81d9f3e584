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
the ``From`` header is the template's sender, or ``SMTP_FROM``. Mail whose ``From`` domain has a DKIM key
(:mod:`email_worker.dkim_keys`) is signed with it; a database that cannot be read for the key is transient.

Relays (:mod:`email_worker.relays`): each attempt goes to one relay, chosen by the attempt's number among
those whose breaker lets a call through; the relay's breaker sees its answer, and the history names it.
"""

from __future__ import annotations

from functools import partial

import asyncpg

from common.channels import Channel
from common.dkim_keys import KeySealer
from delivery.breaker import CircuitBreaker
from delivery.outcome import Delivered, DeliveryError, PermanentError, TransientError
from email_worker.dkim_keys import DkimKeyring, domain_of
from email_worker.message import UnsubscribeLinks, build_email, from_header, message_id, sender_address
from email_worker.metrics import RELAY_BREAKER_STATE
from email_worker.relays import RelayLink, RelayRoute
from email_worker.settings import EmailWorkerSettings
from email_worker.smtp import SmtpRefused, SmtpSender, SmtpUnavailable
from notification.v1 import notification_pb2 as pb


def classify(error: SmtpRefused | SmtpUnavailable, recipient: str, relay: str) -> DeliveryError:
    """The delivery error an SMTP failure at ``relay`` means for one recipient."""
    if isinstance(error, SmtpUnavailable):
        return TransientError(str(error), detail={"smtp_error": str(error), "relay": relay})
    reply = error.reply
    detail = {"smtp_code": reply.code, "smtp_reply": reply.message, "smtp_stage": error.stage, "relay": relay}
    if 500 <= reply.code < 600 and error.stage != "connect":
        suppress = recipient if error.stage == "rcpt" else None
        return PermanentError(str(reply), reason=f"smtp_{reply.code}", detail=detail, suppress_address=suppress)
    return TransientError(str(reply), detail=detail)


def _state_of(breaker: CircuitBreaker) -> float:
    return float(breaker.state)


def dkim_keyring(settings: EmailWorkerSettings) -> DkimKeyring:
    """The sending domains' DKIM keys, read from the notifications database."""
    return DkimKeyring(
        settings.database_url,
        KeySealer.of(settings.dkim_key_secret),
        ttl_seconds=settings.dkim_key_ttl_seconds,
        default_domain=domain_of(sender_address(settings.smtp_from)),
    )


def relay_route(settings: EmailWorkerSettings) -> RelayRoute:
    """The configured relays, each with its connection pool and its breaker (whose state a gauge shows)."""
    links = []
    for relay in settings.relays:
        breaker = CircuitBreaker(
            f"smtp {relay.name}",
            threshold=settings.relay_breaker_threshold,
            pause_seconds=settings.relay_breaker_pause_seconds,
        )
        RELAY_BREAKER_STATE.labels(relay.name).set_function(partial(_state_of, breaker))
        links.append(RelayLink(relay, SmtpSender(settings, relay), breaker))
    return RelayRoute(links)


class EmailDeliverer:
    """Delivers email envelopes through the relays of a :class:`RelayRoute`."""

    channel = Channel.EMAIL

    def __init__(self, route: RelayRoute, settings: EmailWorkerSettings, keyring: DkimKeyring) -> None:
        self.route = route
        self._keyring = keyring
        self._from = from_header(settings.smtp_from)
        self._return_path = settings.return_path
        self._domain = settings.message_id_domain
        self._unsubscribe_links = UnsubscribeLinks(settings.unsubscribe_keys, settings.public_base_url)

    def breakers(self) -> list[CircuitBreaker]:
        """Each relay's breaker."""
        return [link.breaker for link in self.route.links]

    async def deliver(self, envelope: pb.MessageEnvelope, attempt: int = 1) -> Delivered:
        """Send ``envelope``'s email through the relay for ``attempt``; raise :class:`TransientError` or
        :class:`PermanentError` when it did not go."""
        recipient = envelope.email_recipient.address
        try:
            email = build_email(
                envelope, sender=self._from, domain=self._domain, unsubscribe_url=self._unsubscribe_links.of(envelope)
            )
            mail_from = self._return_path.address(envelope.notification_id)
        except ValueError as error:
            raise PermanentError(f"cannot build the email: {error}", reason="invalid_message") from None
        try:
            signer = await self._keyring.signer(envelope.application_id, envelope.email.from_email)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            raise TransientError(f"cannot read the DKIM key: {error}", detail={"dkim_error": str(error)}) from None
        if signer is not None:
            email = signer.sign(email)
        link = next((link for link in self.route.candidates(attempt) if link.breaker.acquire()), None)
        if link is None:
            names = [link.relay.name for link in self.route.links]
            raise TransientError("every SMTP relay's breaker is open", detail={"relays_open": names})
        relay = link.relay.name
        try:
            reply = await link.sender.send(email, sender=mail_from, recipient=recipient)
        except (SmtpRefused, SmtpUnavailable) as error:
            failure = classify(error, recipient, relay)
            if isinstance(failure, PermanentError):
                link.breaker.record_success()  # the relay answered: it is up
            else:
                link.breaker.record_failure()
            raise failure from None
        except ValueError as error:
            link.breaker.release()
            raise PermanentError(f"invalid recipient address: {error}", reason="invalid_address") from None
        except BaseException:
            link.breaker.release()
            raise
        link.breaker.record_success()
        return Delivered(
            provider_message_id=message_id(envelope.notification_id, self._domain),
            detail={"smtp_code": reply.code, "smtp_reply": reply.message, "relay": relay},
        )

    async def close(self) -> None:
        """Close the SMTP connections and the key reader's pool."""
        await self.route.close()
        await self._keyring.close()
