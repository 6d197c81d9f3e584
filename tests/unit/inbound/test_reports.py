"""Reading DSNs and feedback reports in the shapes real mail systems send."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inbound.reports import Severity, Unreadable, complaint_report, delivery_report
from tests.support.reports import (
    exim_dsn,
    gmail_delay,
    gmail_dsn,
    malformed_report,
    microsoft_dsn,
    postfix_dsn,
    rfc5965_arf,
)

RETURN_PATH = "b+0192f5d49c2a7f108b3e5a6c7d8e9f01.abcdefgh@bounces.example.com"


@pytest.mark.parametrize(
    ("sample", "status", "recipient", "diagnostic_start", "remote_mta"),
    [
        (postfix_dsn, "5.1.1", "nobody@example.org", "550 5.1.1 <nobody@example.org>: Recipient", "mx.example.org"),
        (exim_dsn, "5.0.0", "ghost@example.org", "550 No Such User Here", "mx.example.org"),
        (gmail_dsn, "5.1.1", "no.such.user.xyz@gmail.com", "550-5.1.1 The email account", "gmail-smtp-in"),
        (microsoft_dsn, "5.1.10", "missing@contoso.com", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", None),
    ],
)
def test_a_hard_bounce_is_read_from_each_mail_systems_dsn(
    sample: Callable[[str], bytes], status: str, recipient: str, diagnostic_start: str, remote_mta: str | None
) -> None:
    report = delivery_report(sample(RETURN_PATH))
    assert report.severity is Severity.BOUNCED
    assert report.status == status
    assert report.action == "failed"
    assert report.recipient == recipient
    assert report.diagnostic is not None
    assert report.diagnostic.startswith(diagnostic_start)
    assert "\n" not in report.diagnostic
    assert (report.remote_mta or "").startswith(remote_mta or "")
    assert report.reporting_mta


def test_a_delay_warning_is_a_delay() -> None:
    report = delivery_report(gmail_delay(RETURN_PATH))
    assert report.severity is Severity.DELAYED
    assert (report.status, report.action, report.recipient) == ("4.4.1", "delayed", "busy@example.org")
    assert report.detail() == {
        "dsn_status": "4.4.1",
        "dsn_action": "delayed",
        "diagnostic_code": "The recipient server did not accept our requests to connect."
        " [mx.example.org. 203.0.113.9: timed out]",
        "remote_mta": "mx.example.org. (203.0.113.9, the server for the domain example.org.)",
        "reporting_mta": "googlemail.com",
    }


def test_a_success_notification_is_no_bounce() -> None:
    relayed = (
        postfix_dsn(RETURN_PATH)
        .replace(b"Action: failed", b"Action: relayed")
        .replace(b"Status: 5.1.1", b"Status: 2.0.0")
    )
    with pytest.raises(Unreadable, match=r"4\.x\.x or 5\.x\.x"):
        delivery_report(relayed)


def test_the_rfc_5965_example_is_a_complaint() -> None:
    report = complaint_report(rfc5965_arf())
    assert report.feedback_type == "abuse"
    assert report.message_id == "8787KJKJ3K4J3K4J3K4J3.mail@example.net"
    assert report.recipient == "user@example.com"


def test_a_not_spam_report_is_no_complaint() -> None:
    with pytest.raises(Unreadable, match="not-spam"):
        complaint_report(rfc5965_arf().replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))


@pytest.mark.parametrize(
    "content",
    [
        malformed_report(RETURN_PATH),
        b"",
        b"\x00\xff\xfe garbage",
        b"From: someone@example.org\r\nSubject: out of office\r\n\r\nI am away until Monday.\r\n",
        rfc5965_arf(),  # a complaint is no DSN
    ],
)
def test_anything_else_is_unreadable_as_a_dsn(content: bytes) -> None:
    with pytest.raises(Unreadable):
        delivery_report(content)


@pytest.mark.parametrize("content", [malformed_report("fbl@bounces.example.com"), postfix_dsn(RETURN_PATH), b""])
def test_anything_else_is_unreadable_as_a_complaint(content: bytes) -> None:
    with pytest.raises(Unreadable):
        complaint_report(content)
