"""Mail that comes back, sent over real SMTP (aiosmtplib) to the running inbound service, and what it records."""

from __future__ import annotations

import uuid

import aiosmtplib
import httpx
import pytest

from delivery.status_store import RowState, StatusStore
from devstack.infra import Infra
from inbound.service import Inbound
from tests.integration.inbound.conftest import Mailer
from tests.support.reports import exim_dsn, gmail_delay, malformed_report, microsoft_dsn, postfix_dsn, rfc5965_arf


async def send(inbound: Inbound, recipient: str, content: bytes) -> None:
    """Hand ``content`` to inbound as a mail system would: null sender, one recipient."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=inbound.smtp_port) as client:
        await client.sendmail("", [recipient], content)


async def test_a_forged_or_unknown_recipient_is_refused_at_rcpt(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("ada@example.org")
    genuine = mailer.return_path.address(notification_id)
    forged = genuine.replace(genuine.partition("@")[0][-8:], "aaaaaaaa")
    for recipient in (forged, f"b+{uuid.uuid4().hex}.abcdefgh@{mailer.return_path.domain}", "postmaster@example.com"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await send(inbound, recipient, postfix_dsn(recipient, "ada@example.org"))
        assert refused.value.recipients[0].code == 550
    assert (await mailer.row(notification_id))["status"] == "delivered"
    assert await mailer.suppression("ada@example.org") is None


async def test_a_hard_bounce_makes_a_delivered_notification_bounced(inbound: Inbound, mailer: Mailer) -> None:
    await mailer.subscribe("notification.bounced")
    notification_id = await mailer.delivered("Nobody@Example.org")
    await send(inbound, mailer.return_path.address(notification_id), postfix_dsn("x", "nobody@example.org"))

    row = await mailer.row(notification_id)
    assert (row["status"], row["reason"]) == ("bounced", "hard_bounce")
    assert row["last_error"].startswith("5.1.1 550 5.1.1 <nobody@example.org>")
    history = await mailer.events(notification_id)
    assert [status for status, _ in history] == ["bounced"]
    assert history[0][1]["dsn_status"] == "5.1.1"
    assert history[0][1]["reporting_mta"] == "mail.example.net"
    assert await mailer.suppression("nobody@example.org") == "hard_bounce"
    [(event_type, data)] = await mailer.outbox(notification_id)
    assert event_type == "notification.bounced"
    assert (data["status"], data["reason"], data["event"]["status"]) == ("bounced", "hard_bounce", "bounced")

    # The same report again (mail systems do resend) changes nothing more.
    await send(inbound, mailer.return_path.address(notification_id), postfix_dsn("x", "nobody@example.org"))
    assert len(await mailer.events(notification_id)) == 1
    assert len(await mailer.outbox(notification_id)) == 1


async def test_no_webhook_event_without_a_subscriber(inbound: Inbound, mailer: Mailer) -> None:
    await mailer.subscribe("notification.delivered")
    notification_id = await mailer.delivered("missing@contoso.com")
    await send(inbound, mailer.return_path.address(notification_id), microsoft_dsn("x"))
    assert (await mailer.row(notification_id))["status"] == "bounced"
    assert await mailer.outbox(notification_id) == []


async def test_a_delay_warning_is_only_an_event(inbound: Inbound, mailer: Mailer) -> None:
    await mailer.subscribe("*")
    notification_id = await mailer.delivered("busy@example.org")
    await send(inbound, mailer.return_path.address(notification_id), gmail_delay("x"))
    assert (await mailer.row(notification_id))["status"] == "delivered"
    [(status, detail)] = await mailer.events(notification_id)
    assert (status, detail["dsn_status"], detail["dsn_action"]) == ("delivered", "4.4.1", "delayed")
    assert await mailer.suppression("busy@example.org") is None
    assert await mailer.outbox(notification_id) == []


async def test_a_bounce_of_a_notification_not_delivered_still_suppresses(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("retry@example.org", status="retrying")
    await send(inbound, mailer.return_path.address(notification_id), postfix_dsn("x", "retry@example.org"))
    assert (await mailer.row(notification_id))["status"] == "retrying"
    assert await mailer.suppression("retry@example.org") == "hard_bounce"


async def test_a_bounce_while_still_sending_is_asked_again_later(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("early@example.org", status="sending")
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        await send(inbound, mailer.return_path.address(notification_id), postfix_dsn("x", "early@example.org"))
    assert deferred.value.code == 451
    assert await mailer.suppression("early@example.org") is None


async def test_a_complaint_at_the_feedback_address_suppresses_and_tells_webhooks(
    inbound: Inbound, mailer: Mailer
) -> None:
    await mailer.subscribe("email.complained")
    notification_id = await mailer.delivered("grace@example.org")
    report = rfc5965_arf(
        to=mailer.return_path.feedback_address,
        message_id=mailer.message_id(notification_id),
        original_rcpt_to="redacted@example.org",  # providers often redact it: the address sent to counts
    )
    await send(inbound, mailer.return_path.feedback_address, report)

    assert await mailer.suppression("grace@example.org") == "complaint"
    assert (await mailer.row(notification_id))["status"] == "delivered"
    assert await mailer.events(notification_id) == [("delivered", {"complaint": "abuse"})]
    row = await mailer.row(notification_id)
    assert await mailer.outbox(notification_id) == [
        (
            "email.complained",
            {
                "address": "grace@example.org",
                "user_id": str(row["user_id"]),
                "notification_id": notification_id,
                "feedback_type": "abuse",
            },
        )
    ]


async def test_a_complaint_about_a_message_we_did_not_send_is_dropped(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("lin@example.org")
    forged_domain = f"<{notification_id}@elsewhere.example>"
    for message_id in ("8787KJKJ3K4J3K4J3K4J3.mail@example.net", forged_domain):
        report = rfc5965_arf(to=mailer.return_path.feedback_address, message_id=message_id)
        await send(inbound, mailer.return_path.feedback_address, report)
    assert await mailer.suppression("lin@example.org") is None
    assert await mailer.suppression("user@example.com") is None


async def test_malformed_mail_is_accepted_counted_and_dropped(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("kay@example.org")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{inbound.http_port}") as http:
        before = malformed_count((await http.get("/metrics")).text)
        await send(inbound, mailer.return_path.address(notification_id), malformed_report("x"))
        await send(inbound, mailer.return_path.feedback_address, b"Subject: hello\r\n\r\nnot a report\r\n")
        assert malformed_count((await http.get("/metrics")).text) == before + 2
        assert (await http.get("/ready")).json() == {"status": "ready", "checks": {"database": True}}
        assert (await http.get("/health")).status_code == 200
    assert (await mailer.row(notification_id))["status"] == "delivered"


def malformed_count(metrics: str) -> float:
    """``inbound_reports_total{outcome="malformed"}`` in a /metrics page."""
    for line in metrics.splitlines():
        if line.startswith('inbound_reports_total{outcome="malformed"}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_send_accepted_before_the_bounce_is_skipped_at_its_claim(
    inbound: Inbound, mailer: Mailer, infra: Infra
) -> None:
    bounced = await mailer.delivered("later@example.org")
    waiting = await mailer.delivered("later@example.org", status="queued")
    complained_of = await mailer.delivered("liked@example.org")
    still_queued = await mailer.delivered("liked@example.org", status="queued")
    await send(inbound, mailer.return_path.address(bounced), postfix_dsn("x", "later@example.org"))
    report = rfc5965_arf(to=mailer.return_path.feedback_address, message_id=mailer.message_id(complained_of))
    await send(inbound, mailer.return_path.feedback_address, report)

    store = await StatusStore.open(infra.database("NOTIFICATIONS_DATABASE_URL"), lease_seconds=30)
    try:
        assert (await store.claim(waiting, 1, "later@example.org")).state is RowState.SUPPRESSED
        # A complaint blocks only non-transactional email: all email is transactional until categories exist.
        assert (await store.claim(still_queued, 1, "liked@example.org")).state is RowState.DONE
    finally:
        await store.close()
    assert ((await mailer.row(waiting))["status"], (await mailer.row(waiting))["reason"]) == ("skipped", "suppressed")


async def test_after_content_retention_the_reports_address_is_suppressed(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("old@example.org")
    await mailer.db.execute(
        "UPDATE notification_statuses SET envelope = NULL WHERE id = $1", uuid.UUID(notification_id)
    )
    await send(inbound, mailer.return_path.address(notification_id), exim_dsn("x", "Old@Example.org"))
    assert (await mailer.row(notification_id))["status"] == "bounced"
    assert await mailer.suppression("old@example.org") == "hard_bounce"


async def test_an_erased_users_bounce_keeps_no_address_or_detail(inbound: Inbound, mailer: Mailer) -> None:
    notification_id = await mailer.delivered("gone@example.org")
    await mailer.db.execute(
        "UPDATE notification_statuses SET envelope = NULL, erased_at = now() WHERE id = $1", uuid.UUID(notification_id)
    )
    await send(inbound, mailer.return_path.address(notification_id), exim_dsn("x", "gone@example.org"))
    row = await mailer.row(notification_id)
    assert (row["status"], row["last_error"]) == ("bounced", None)
    assert await mailer.events(notification_id) == [("bounced", {})]
    assert await mailer.suppression("gone@example.org") is None
