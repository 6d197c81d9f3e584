"""The email a notification becomes: parsed back with the standard library, as a mail client would."""

import uuid
from email import message_from_bytes, policy

import pytest

from email_worker.message import UnsubscribeLinks, build_email, from_header, message_id, sender_address
from notification.v1 import notification_pb2 as pb
from unsubscribe.tokens import KeyRing

NOTIFICATION_ID = "01900000-0000-7000-8000-000000000001"


def envelope(**content: str) -> pb.MessageEnvelope:
    parts = {"subject": "Hi Ada", "text_body": "Hello Ada\nSecond line", "html_body": "<p>Hello Ada</p>", **content}
    return pb.MessageEnvelope(
        notification_id=NOTIFICATION_ID,
        correlation_id="req-1",
        channel=pb.CHANNEL_EMAIL,
        priority=pb.PRIORITY_LOW,
        email_recipient=pb.EmailRecipient(address="ada@example.com", name="Ada Lovelace"),
        email=pb.EmailContent(**parts),
    )


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(raw, policy=policy.default)


def body(mail, kind: str) -> str:  # type: ignore[no-untyped-def]
    """A part's text as a client shows it (line endings normalised, no trailing newline)."""
    return str(mail.get_body((kind,)).get_content()).replace("\r\n", "\n").rstrip("\n")


def test_text_and_html_make_a_multipart_alternative_with_the_headers() -> None:
    mail = parse(
        build_email(envelope(), sender=from_header("Notifications <n@example.com>"), domain="notifications.local")
    )
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "Hi Ada"
    assert mail["To"] == "Ada Lovelace <ada@example.com>"
    assert mail["From"] == "Notifications <n@example.com>"
    assert mail["Message-ID"] == f"<{NOTIFICATION_ID}@notifications.local>"
    assert mail["X-Correlation-ID"] == "req-1"
    assert (mail["Importance"], mail["X-Priority"]) == ("low", "5 (Lowest)")
    assert body(mail, "plain") == "Hello Ada\nSecond line"
    assert body(mail, "html") == "<p>Hello Ada</p>"


def test_without_html_the_email_is_plain_text() -> None:
    mail = parse(build_email(envelope(html_body=""), sender="n@example.com", domain="x"))
    assert mail.get_content_type() == "text/plain"
    assert body(mail, "plain") == "Hello Ada\nSecond line"


def test_non_ascii_and_long_values_are_encoded_and_decode_back() -> None:
    subject = "Olá, Zoë — " + "a long subject " * 10
    raw = build_email(
        envelope(subject=subject, text_body="Grüße 👋"), sender=from_header("Zoë <z@example.com>"), domain="x"
    )
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    mail = parse(raw)
    assert mail["Subject"] == subject
    assert mail["From"] == "Zoë <z@example.com>"
    assert body(mail, "plain") == "Grüße 👋"


@pytest.mark.parametrize("field", ["subject", "name"])
def test_a_line_break_in_a_header_value_is_refused(field: str) -> None:
    bad = envelope()
    if field == "subject":
        bad.email.subject = "Hi\r\nBcc: victim@example.com"
    else:
        bad.email_recipient.name = "Ada\nBcc: victim@example.com"
    with pytest.raises(ValueError, match="line break"):
        build_email(bad, sender="n@example.com", domain="x")


def test_an_odd_correlation_id_is_left_out_rather_than_failing_the_email() -> None:
    odd = envelope()
    odd.correlation_id = "ünïcode"
    assert parse(build_email(odd, sender="n@example.com", domain="x"))["X-Correlation-ID"] is None


def test_identifiers() -> None:
    assert message_id("abc", "d.example") == "<abc@d.example>"
    assert sender_address("Notifications <n@example.com>") == "n@example.com"
    assert sender_address("n@example.com") == "n@example.com"


def test_the_templates_sender_and_reply_to_replace_the_default() -> None:
    raw = build_email(
        envelope(from_name="Ada's Shop, Ltd", from_email="shop@mail.example.com", reply_to="help@example.com"),
        sender=from_header("Notifications <n@example.com>"),
        domain="notifications.local",
    )
    mail = parse(raw)
    assert mail["From"].addresses[0].display_name == "Ada's Shop, Ltd"
    assert mail["From"].addresses[0].addr_spec == "shop@mail.example.com"
    assert mail["Reply-To"] == "help@example.com"
    assert b'From: "Ada\'s Shop, Ltd" <shop@mail.example.com>\r\n' in raw


def test_without_a_template_sender_the_default_is_used_and_no_reply_to() -> None:
    mail = parse(build_email(envelope(), sender=from_header("Notifications <n@example.com>"), domain="x.local"))
    assert mail["From"] == "Notifications <n@example.com>"
    assert mail["Reply-To"] is None


def test_a_line_break_in_the_reply_to_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        build_email(envelope(reply_to="a@example.com\r\nBcc: x@example.com"), sender="n@example.com", domain="x")


LINKS = UnsubscribeLinks(KeyRing.parse("k1:a-secret"), "https://n.example.com")


def test_a_non_transactional_email_carries_the_one_click_headers_naming_who_and_what() -> None:
    news = envelope()
    news.application_id, news.user_id = str(uuid.uuid4()), str(uuid.uuid4())
    news.category, news.transactional = "newsletter", False

    url = LINKS.of(news)
    mail = parse(build_email(news, sender="n@example.com", domain="example.com", unsubscribe_url=url))

    assert mail["List-Unsubscribe"] == f"<{url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url is not None
    named = KeyRing.parse("k1:a-secret").verify(url.removeprefix("https://n.example.com/u/"))
    assert (str(named.application_id), str(named.user_id), named.category) == (
        news.application_id,
        news.user_id,
        "newsletter",
    )


@pytest.mark.parametrize(("category", "transactional"), [("", False), ("transactional", True), ("billing", True)])
def test_a_transactional_email_has_no_unsubscribe_link(category: str, transactional: bool) -> None:
    receipt = envelope()
    receipt.category, receipt.transactional = category, transactional
    assert LINKS.of(receipt) is None
    mail = parse(build_email(receipt, sender="n@example.com", domain="example.com", unsubscribe_url=None))
    assert mail["List-Unsubscribe"] is None
    assert mail["List-Unsubscribe-Post"] is None
