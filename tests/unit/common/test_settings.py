"""Settings: names from docs/design.md §3, clear errors, and no dev secrets in production."""

import pytest

from common.settings import (
    DEV_DKIM_KEY_SECRET,
    DEV_GATEWAY_ADMIN_API_KEY,
    DEV_JWT_SECRET,
    DEV_UNSUBSCRIBE_SIGNING_KEY,
    SettingsError,
    load_settings,
)
from email_worker.settings import EmailWorkerSettings
from gateway.settings import GatewaySettings
from template_svc.settings import TemplateServiceSettings
from user_svc.settings import UserServiceSettings


def test_a_malformed_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "http://not-amqp")
    with pytest.raises(SettingsError, match="RABBITMQ_URL"):
        load_settings(UserServiceSettings)


def test_rabbitmq_urls_lists_the_nodes_and_rabbitmq_url_is_the_one_node_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://u:p@solo:5672/v")
    monkeypatch.delenv("RABBITMQ_URLS", raising=False)
    assert load_settings(UserServiceSettings).rabbitmq_nodes == ("amqp://u:p@solo:5672/v",)
    monkeypatch.setenv("RABBITMQ_URLS", "amqp://u:p@a:5672/v, amqp://u:p@b:5672/v,amqp://u:p@c:5672/v")
    nodes = load_settings(UserServiceSettings).rabbitmq_nodes
    assert nodes == ("amqp://u:p@a:5672/v", "amqp://u:p@b:5672/v", "amqp://u:p@c:5672/v")


def test_a_malformed_node_in_rabbitmq_urls_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URLS", "amqp://u:p@a:5672/v,http://b:5672/v")
    with pytest.raises(SettingsError, match="RABBITMQ_URLS"):
        load_settings(UserServiceSettings)


def test_a_non_numeric_port_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER_SVC_PORT", "fifty")
    with pytest.raises(SettingsError, match="USER_SVC_PORT"):
        load_settings(UserServiceSettings)


def test_a_database_url_must_be_plain_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(SettingsError, match="NOTIFICATIONS_DATABASE_URL"):
        load_settings(GatewaySettings)


def test_database_url_resolves_specific_then_shared_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USER_SVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert load_settings(UserServiceSettings).database_url.endswith("/users")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db:5432/shared")
    assert load_settings(UserServiceSettings).database_url == "postgresql://app@db:5432/shared"
    monkeypatch.setenv("USER_SVC_DATABASE_URL", "postgresql://app@db:5432/own")
    assert load_settings(UserServiceSettings).database_url == "postgresql://app@db:5432/own"


def test_internal_key_resolves_per_service_name_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_API_KEY", "mesh-key")
    assert load_settings(TemplateServiceSettings).internal_api_key == "mesh-key"
    monkeypatch.setenv("USER_SERVICE_INTERNAL_API_KEY", "user-key")
    assert load_settings(UserServiceSettings).internal_api_key == "user-key"
    gateway = load_settings(GatewaySettings)
    assert gateway.user_service_internal_api_key == "user-key"
    assert gateway.template_service_internal_api_key == "mesh-key"


def test_production_refuses_a_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INTERNAL_API_KEY", "a-real-internal-key")
    monkeypatch.setenv("JWT_SECRET", DEV_JWT_SECRET)
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load_settings(UserServiceSettings)


def test_production_refuses_an_empty_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INTERNAL_API_KEY", "")
    with pytest.raises(SettingsError, match="INTERNAL_API_KEY"):
        load_settings(TemplateServiceSettings)


REAL_RING = "k2:a-real-unsubscribe-key-of-32-bytes-or-more,k1:the-retired-unsubscribe-key-32-bytes"
REAL_SECRETS = {
    "INTERNAL_API_KEY": "a-real-internal-key",
    "JWT_SECRET": "a-real-jwt-secret-of-at-least-32-bytes",
    "GATEWAY_API_KEYS": "key-one,key-two",
    "GATEWAY_ADMIN_API_KEY": "a-real-operator-key-of-at-least-32-bytes",
    "BOUNCE_SIGNING_KEY": "a-real-bounce-signing-key-of-32-bytes",
    "DKIM_KEY_SECRET": "a-real-dkim-key-secret-of-at-least-32-bytes",
    "UNSUBSCRIBE_SIGNING_KEYS": REAL_RING,
}


def in_production(monkeypatch: pytest.MonkeyPatch, **secrets: str | None) -> None:
    """Production with a real value for every secret, but those given (None: unset)."""
    monkeypatch.setenv("APP_ENV", "production")
    for name, value in {**REAL_SECRETS, **secrets}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_production_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    in_production(monkeypatch)
    assert load_settings(GatewaySettings).api_keys == "key-one,key-two"
    monkeypatch.setenv("GATEWAY_API_KEYS", "key-one,dev-api-key")
    with pytest.raises(SettingsError, match=r"GATEWAY_API_KEYS\[1\]"):
        load_settings(GatewaySettings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *[("GATEWAY_ADMIN_API_KEY", bad) for bad in (None, "", DEV_GATEWAY_ADMIN_API_KEY, "short-operator-key")],
        *[("DKIM_KEY_SECRET", bad) for bad in (None, DEV_DKIM_KEY_SECRET, "short-dkim-secret")],
    ],
)
def test_production_refuses_a_gateway_secret_that_is_dev_empty_or_short(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str | None
) -> None:
    in_production(monkeypatch, **{name: value})
    with pytest.raises(SettingsError, match=name):
        load_settings(GatewaySettings)


@pytest.mark.parametrize("settings_class", [GatewaySettings, EmailWorkerSettings])
@pytest.mark.parametrize(
    ("ring", "refused"),
    [
        (None, r"UNSUBSCRIBE_SIGNING_KEYS\[dev\] must be set to a real secret"),
        (f"k1:{'x' * 32},k0:{DEV_UNSUBSCRIBE_SIGNING_KEY}", r"UNSUBSCRIBE_SIGNING_KEYS\[k0\] must be set"),
        (f"k1:{'x' * 32},k0:short", r"UNSUBSCRIBE_SIGNING_KEYS\[k0\] must be at least 32 bytes"),
        ("k1", "UNSUBSCRIBE_SIGNING_KEYS"),
    ],
)
def test_production_refuses_a_dev_short_or_malformed_unsubscribe_ring(
    monkeypatch: pytest.MonkeyPatch,
    settings_class: type[GatewaySettings | EmailWorkerSettings],
    ring: str | None,
    refused: str,
) -> None:
    in_production(monkeypatch, UNSUBSCRIBE_SIGNING_KEYS=ring)
    with pytest.raises(SettingsError, match=refused):
        load_settings(settings_class)
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEYS", REAL_RING)
    assert load_settings(settings_class).unsubscribe_keys.sign


def test_a_generic_port_variable_does_not_move_a_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """honcho (and many platforms) export PORT; only the service's own variable counts."""
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.delenv("USER_SVC_PORT", raising=False)
    assert load_settings(UserServiceSettings).port == 50051
    monkeypatch.setenv("USER_SVC_PORT", "50151")
    assert load_settings(UserServiceSettings).port == 50151
