"""Push worker settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import SettingsError, load_settings
from push_worker.settings import PushWorkerSettings


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sa.json"
    path.write_text("{}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    for name in ("FCM_ENDPOINT", "PUSH_WORKER_PORT", "USER_SERVICE_INTERNAL_API_KEY", "USER_SERVICE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_defaults_send_to_google_and_listen_on_8081(credentials: Path) -> None:
    settings = load_settings(PushWorkerSettings)

    assert settings.google_application_credentials == credentials
    assert (settings.fcm_endpoint, settings.port, settings.max_per_second) == (None, 8081, 0)
    assert settings.user_service_url == "127.0.0.1:50051"


def test_the_environment_names_of_issue_6(credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCM_ENDPOINT", "http://127.0.0.1:9099/")
    monkeypatch.setenv("PUSH_WORKER_PORT", "18081")
    monkeypatch.setenv("PUSH_WORKER_MAX_PER_SECOND", "500")
    monkeypatch.setenv("INTERNAL_API_KEY", "mesh-key")

    settings = load_settings(PushWorkerSettings)

    assert (settings.fcm_endpoint, settings.port, settings.max_per_second) == ("http://127.0.0.1:9099", 18081, 500)
    assert settings.user_service_internal_api_key == "mesh-key"
    monkeypatch.setenv("USER_SERVICE_INTERNAL_API_KEY", "user-svc-key")
    assert load_settings(PushWorkerSettings).user_service_internal_api_key == "user-svc-key"


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nowhere/sa.json", "is not a file"),
        ("FCM_ENDPOINT", "fcm.example.com", "http:// or https://"),
    ],
)
def test_bad_values_name_their_variable(
    credentials: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=f"{variable}.*{complaint}"):
        load_settings(PushWorkerSettings)
