"""A worker's knobs come from its own prefixed variables."""

import pytest

from common.settings import SettingsError, load_settings
from email_worker.settings import EmailWorkerSettings


def test_knobs_read_the_worker_prefix_and_a_generic_port_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("PREFETCH", "3")
    settings = load_settings(EmailWorkerSettings)
    assert (settings.port, settings.prefetch, settings.max_per_second) == (2525, 64, 0)
    monkeypatch.setenv("EMAIL_WORKER_PORT", "2626")
    monkeypatch.setenv("EMAIL_WORKER_MAX_PER_SECOND", "14")
    monkeypatch.setenv("SMTP_TLS", "STARTTLS")
    settings = load_settings(EmailWorkerSettings)
    assert (settings.port, settings.max_per_second, settings.smtp_tls) == (2626, 14, "starttls")


def test_a_bad_knob_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_WORKER_MAX_ATTEMPTS", "zero")
    with pytest.raises(SettingsError, match="EMAIL_WORKER_MAX_ATTEMPTS"):
        load_settings(EmailWorkerSettings)
