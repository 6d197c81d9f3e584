"""inbound's settings, and the return-path key production refuses in its dev value or too short."""

from __future__ import annotations

import pytest

from common.settings import DEV_BOUNCE_SIGNING_KEY, SettingsError, load_settings
from email_worker.settings import EmailWorkerSettings
from inbound.settings import InboundSettings

REAL_KEY = "a-real-bounce-signing-key-of-32-bytes"


def test_defaults_are_the_documented_ports_and_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(InboundSettings)
    assert (settings.port, settings.smtp_port, settings.bounce_domain) == (8083, 2526, "bounces.example.com")
    assert settings.bounce_signing_key == DEV_BOUNCE_SIGNING_KEY
    monkeypatch.setenv("INBOUND_SMTP_PORT", "2600")
    monkeypatch.setenv("BOUNCE_DOMAIN", "Bounces.Example.org")
    settings = load_settings(InboundSettings)
    assert settings.smtp_port == 2600
    assert settings.return_path.feedback_address == "fbl@bounces.example.org"


@pytest.mark.parametrize("settings_class", [InboundSettings, EmailWorkerSettings])
def test_production_refuses_the_dev_or_a_short_signing_key(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[InboundSettings | EmailWorkerSettings]
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INTERNAL_API_KEY", "a-real-internal-key")
    monkeypatch.setenv("DKIM_KEY_SECRET", REAL_KEY)  # the email worker's other signing secret
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEYS", "k1:a-real-unsubscribe-signing-key-of-32-bytes")
    monkeypatch.delenv("BOUNCE_SIGNING_KEY", raising=False)
    with pytest.raises(SettingsError, match="BOUNCE_SIGNING_KEY must be set to a real secret"):
        load_settings(settings_class)
    monkeypatch.setenv("BOUNCE_SIGNING_KEY", "x" * 31)
    with pytest.raises(SettingsError, match="BOUNCE_SIGNING_KEY must be at least 32 bytes"):
        load_settings(settings_class)
    monkeypatch.setenv("BOUNCE_SIGNING_KEY", REAL_KEY)
    assert load_settings(settings_class).bounce_signing_key == REAL_KEY


def test_both_sides_agree_on_the_return_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCE_SIGNING_KEY", REAL_KEY)
    address = load_settings(EmailWorkerSettings).return_path.address("0192f5d4-9c2a-7f10-8b3e-5a6c7d8e9f01")
    assert load_settings(InboundSettings).return_path.notification_id(address) is not None
