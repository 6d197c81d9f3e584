"""How SMTP answers become delivery outcomes."""

from delivery.outcome import PermanentError, TransientError
from email_worker.deliverer import classify
from email_worker.smtp import SmtpRefused, SmtpReply, SmtpUnavailable

RELAY = "smtp.example.com:587"


def test_a_4xx_is_transient() -> None:
    error = classify(SmtpRefused(SmtpReply(451, "4.3.0 try later"), "rcpt"), "ada@example.com", RELAY)
    assert isinstance(error, TransientError)
    assert (error.detail["smtp_code"], error.detail["relay"]) == (451, RELAY)


def test_a_5xx_at_rcpt_is_permanent_and_suppresses_the_address() -> None:
    error = classify(SmtpRefused(SmtpReply(550, "5.1.1 unknown"), "rcpt"), "ada@example.com", RELAY)
    assert isinstance(error, PermanentError)
    assert error.reason == "smtp_550"
    assert error.suppress_address == "ada@example.com"


def test_a_5xx_for_the_content_is_permanent_without_suppressing() -> None:
    error = classify(SmtpRefused(SmtpReply(554, "5.6.0 rejected"), "data"), "ada@example.com", RELAY)
    assert isinstance(error, PermanentError)
    assert error.suppress_address is None


def test_a_refusal_while_connecting_and_no_answer_are_transient() -> None:
    assert isinstance(classify(SmtpRefused(SmtpReply(535, "auth failed"), "connect"), "a@b.c", RELAY), TransientError)
    assert isinstance(classify(SmtpUnavailable("connection refused"), "a@b.c", RELAY), TransientError)
