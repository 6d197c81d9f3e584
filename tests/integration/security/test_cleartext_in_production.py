"""Finding 6: with APP_ENV=production a worker refuses to start when its settings would send credentials in clear
text (SMTP AUTH without TLS, an http:// FCM endpoint), and the gRPC TLS files are checked before anything starts.
The dev stack keeps working as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import ServiceSettings, SettingsError, load_settings
from email_worker.settings import EmailWorkerSettings
from push_worker.settings import PushWorkerSettings

REAL_KEY = "a-real-internal-key-for-production"
GRPC_TLS_VARIABLES = ("GRPC_TLS_CERT", "GRPC_TLS_KEY", "GRPC_TLS_CA")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """APP_ENV=production with real secrets and a service account file; returns the folder for other files."""
    account = tmp_path / "sa.json"
    account.write_text("{}")
    for variable in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TLS", "FCM_ENDPOINT", *GRPC_TLS_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INTERNAL_API_KEY", REAL_KEY)
    monkeypatch.setenv("USER_SERVICE_INTERNAL_API_KEY", REAL_KEY)
    monkeypatch.setenv("BOUNCE_SIGNING_KEY", "a-real-bounce-signing-key-of-32-bytes")
    monkeypatch.setenv("DKIM_KEY_SECRET", "a-real-dkim-key-secret-of-at-least-32-bytes")
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEYS", "k1:a-real-unsubscribe-signing-key-32-bytes")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(account))
    return tmp_path


def test_production_refuses_smtp_credentials_without_tls(production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", "a-password")
    monkeypatch.setenv("SMTP_TLS", "none")

    with pytest.raises(SettingsError, match=r"SMTP_TLS=none .*SMTP_PASSWORD.* when APP_ENV=production"):
        load_settings(EmailWorkerSettings)

    for mode in ("starttls", "tls"):
        monkeypatch.setenv("SMTP_TLS", mode)
        assert load_settings(EmailWorkerSettings).smtp_tls == mode


def test_production_allows_an_unauthenticated_relay_without_tls(production: Path) -> None:
    assert load_settings(EmailWorkerSettings).smtp_tls == "none"


def test_production_refuses_an_http_fcm_endpoint(production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCM_ENDPOINT", "http://fcm.internal:9099")
    with pytest.raises(SettingsError, match=r"FCM_ENDPOINT must be https://.* when APP_ENV=production"):
        load_settings(PushWorkerSettings)

    monkeypatch.setenv("FCM_ENDPOINT", "https://fcm.internal")
    assert load_settings(PushWorkerSettings).fcm_endpoint == "https://fcm.internal"


def test_the_dev_stack_keeps_its_plaintext_sinks(production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "dev")
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", "a-password")
    monkeypatch.setenv("FCM_ENDPOINT", "http://127.0.0.1:9099")
    assert load_settings(EmailWorkerSettings).smtp_tls == "none"
    assert load_settings(PushWorkerSettings).fcm_endpoint == "http://127.0.0.1:9099"


def test_grpc_tls_files_are_checked_at_start_up(production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = production / "svc.crt", production / "svc.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\n")

    monkeypatch.setenv("GRPC_TLS_CERT", str(cert))
    with pytest.raises(SettingsError, match="GRPC_TLS_CERT and GRPC_TLS_KEY go together"):
        load_settings(ServiceSettings)

    monkeypatch.setenv("GRPC_TLS_KEY", str(production / "missing.key"))
    with pytest.raises(SettingsError, match=r"GRPC_TLS_KEY: .*missing\.key is not a file"):
        load_settings(ServiceSettings)

    monkeypatch.setenv("GRPC_TLS_KEY", str(key))
    tls = load_settings(ServiceSettings).grpc_tls
    assert (tls.cert, tls.key, tls.ca, tls.enabled) == (cert, key, None, True)
    monkeypatch.setenv("GRPC_TLS_CERT", "")
    monkeypatch.setenv("GRPC_TLS_KEY", "")
    assert not load_settings(ServiceSettings).grpc_tls.enabled
