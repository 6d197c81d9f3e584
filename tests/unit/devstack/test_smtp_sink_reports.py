"""The dev SMTP sink's answers by address prefix are reports inbound reads."""

from __future__ import annotations

from devstack.sinks.smtp.reports import reports_for
from inbound.reports import Severity, complaint_report, delivery_report

RETURN_PATH = "b+0192f5d49c2a7f108b3e5a6c7d8e9f01.abcdefgh@bounces.example.com"
MESSAGE = (
    b"From: notifications@example.com\r\nTo: someone@example.org\r\nSubject: Hi\r\n"
    b"Message-ID: <0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01@notifications.local>\r\n\r\nHello\r\n"
)


def test_a_bounce_address_gets_a_hard_dsn_at_the_return_path() -> None:
    [report] = reports_for(RETURN_PATH, ["bounce-ada@example.org"], MESSAGE)
    assert report.to == RETURN_PATH
    read = delivery_report(report.content)
    assert (read.severity, read.status, read.recipient) == (Severity.BOUNCED, "5.1.1", "bounce-ada@example.org")


def test_a_softbounce_address_gets_a_delay_warning() -> None:
    [report] = reports_for(RETURN_PATH, ["softbounce-ada@example.org"], MESSAGE)
    read = delivery_report(report.content)
    assert (read.severity, read.status, read.action) == (Severity.DELAYED, "4.2.2", "delayed")


def test_a_complain_address_gets_an_arf_at_the_feedback_address() -> None:
    [report] = reports_for(RETURN_PATH, ["complain-ada@example.org"], MESSAGE)
    assert report.to == "fbl@bounces.example.com"
    read = complaint_report(report.content)
    assert read.message_id == "0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01@notifications.local"
    assert (read.feedback_type, read.recipient) == ("abuse", "complain-ada@example.org")


def test_other_addresses_and_codes_get_nothing() -> None:
    assert reports_for(RETURN_PATH, ["ada@example.org", "bounce-550@example.org", "bounce-451+x@a.b"], MESSAGE) == []
    assert reports_for("", ["bounce-ada@example.org"], MESSAGE) == []
