"""The envelope the gateway publishes, and when a send is skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from common.envelope import decode_envelope
from gateway.schemas.notifications import SendRequest
from gateway.send import build_envelope, skip_reason
from notification.v1 import notification_pb2 as pb


def profile(**changes: object) -> pb.NotificationProfile:
    values: dict[str, object] = {
        "user_id": str(uuid.uuid4()),
        "email": "ada@example.com",
        "name": "Ada",
        "locale": "en",
        "preferences": pb.Preferences(email=True, push=True),
        "device_tokens": ["t1", "t2"],
    }
    values.update(changes)
    return pb.NotificationProfile(**values)  # type: ignore[arg-type]


TRANSACTIONAL = pb.RenderTemplateResponse(category="transactional", transactional=True)
NEWS = pb.RenderTemplateResponse(category="news", transactional=False)


def test_skip_reasons() -> None:
    assert skip_reason("email", profile(), TRANSACTIONAL) is None
    assert skip_reason("push", profile(), TRANSACTIONAL) is None
    off = pb.Preferences(email=False, push=True)
    assert skip_reason("email", profile(preferences=off), TRANSACTIONAL) == "channel_disabled"
    assert skip_reason("push", profile(preferences=pb.Preferences(email=True, push=False)), NEWS) == "channel_disabled"
    assert skip_reason("push", profile(device_tokens=[]), TRANSACTIONAL) == "no_device"


def test_an_opted_out_category_skips_its_channel_only_and_never_transactional() -> None:
    no_news_email = pb.Preferences(email=True, push=True, categories={"news": pb.CategoryChannels(email=False)})
    assert skip_reason("email", profile(preferences=no_news_email), NEWS) == "category_opt_out"
    assert skip_reason("push", profile(preferences=no_news_email), NEWS) is None
    assert skip_reason("email", profile(preferences=no_news_email), TRANSACTIONAL) is None
    flagged = pb.Preferences(email=True, push=True, categories={"news": pb.CategoryChannels(email=False)})
    transactional_news = pb.RenderTemplateResponse(category="news", transactional=True)
    assert skip_reason("email", profile(preferences=flagged), transactional_news) is None
    opted_in = pb.Preferences(email=True, push=True, categories={"news": pb.CategoryChannels(email=True)})
    assert skip_reason("email", profile(preferences=opted_in), NEWS) is None


def test_an_email_envelope_carries_everything_a_worker_needs() -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    request = SendRequest.model_validate(
        {
            "user_id": str(uuid.uuid4()),
            "channel": "email",
            "template": "welcome",
            "priority": "high",
            "metadata": {"campaign": "x"},
            "expires_at": expires.isoformat(),
        }
    )
    rendered = pb.RenderTemplateResponse(
        email=pb.EmailContent(subject="Hi Ada", text_body="Hello"), locale="en", version=3
    )
    notification_id = uuid.uuid4()
    application_id = uuid.uuid4()
    created = datetime.now(UTC)
    envelope = decode_envelope(
        build_envelope(
            request, application_id, profile(), rendered, notification_id, "req-1", created
        ).SerializeToString()
    )
    assert envelope.notification_id == str(notification_id)
    assert envelope.application_id == str(application_id)
    assert envelope.correlation_id == "req-1"
    assert envelope.channel == pb.CHANNEL_EMAIL
    assert envelope.priority == pb.PRIORITY_HIGH
    assert envelope.email_recipient.address == "ada@example.com"
    assert envelope.email.subject == "Hi Ada"
    assert envelope.template == pb.TemplateRef(slug="welcome", version=3, locale="en")
    assert dict(envelope.metadata) == {"campaign": "x"}
    assert envelope.expires_at.ToDatetime(tzinfo=UTC) == expires.replace(microsecond=expires.microsecond)
    assert envelope.attempt == 0


def test_a_push_envelope_goes_to_every_device() -> None:
    request = SendRequest.model_validate({"user_id": str(uuid.uuid4()), "channel": "push", "template": "ping"})
    rendered = pb.RenderTemplateResponse(push=pb.PushContent(title="T", body="B"), locale="en", version=1)
    envelope = build_envelope(request, uuid.uuid4(), profile(), rendered, uuid.uuid4(), None, datetime.now(UTC))
    assert list(envelope.push_recipient.device_tokens) == ["t1", "t2"]
    assert envelope.priority == pb.PRIORITY_NORMAL
    assert not envelope.HasField("expires_at")
