"""Finding 7: the container stack exposes nothing beyond this machine, Redis asks for a password, each service
has its own broker user and none is an administrator, and no password or key is written into the compose file
(each is a required variable; deploy/compose.dev.env holds the dev values)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.settings import DEV_SECRETS
from devstack.rabbitmq_definitions import SERVICE_USERS, definitions

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
BROKER_CLIENTS = ("gateway", "user_svc", "template_svc", "email_worker", "push_worker")
LOOPBACK = ("127.0.0.1:", "[::1]:")
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?[^}]+\}$")
_URL_PASSWORD = re.compile(r"^[a-z]+://(?P<user>[^:@/]*):(?P<password>[^@]*)@")


def services() -> dict[str, dict[str, Any]]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose["services"]


def published_ports(service: dict[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def url_password(url: str) -> tuple[str, str]:
    """The user and password a URL carries (empty when it has none)."""
    match = _URL_PASSWORD.match(url)
    return (match["user"], match["password"]) if match else ("", "")


@pytest.mark.parametrize("name", sorted(services()))
def test_no_port_is_published_on_every_interface(name: str) -> None:
    exposed = [port for port in published_ports(services()[name]) if not port.startswith(LOOPBACK)]
    assert exposed == [], f"{name} publishes {exposed} on every interface of the host"


def test_redis_requires_a_password_that_every_client_sends() -> None:
    redis = services()["redis"]
    command = redis["command"]
    assert "--requirepass" in command, "Redis takes commands from anyone who reaches it"
    assert REQUIRED_VARIABLE.match(command[command.index("--requirepass") + 1])
    for name, service in services().items():
        url = service.get("environment", {}).get("REDIS_URL")
        if url:
            assert REQUIRED_VARIABLE.match(url_password(url)[1]), f"{name} reaches Redis without the password"


def test_each_service_has_its_own_broker_user_and_none_is_an_administrator() -> None:
    users = {user["name"]: user for user in json.loads(DEFINITIONS.read_text())["users"]}
    administrators = [name for name, user in users.items() if "administrator" in user["tags"]]
    assert administrators == []
    broker_users = {}
    for name in BROKER_CLIENTS:
        user, password = url_password(services()[name]["environment"]["RABBITMQ_URL"])
        assert user in users, f"{name} connects as {user!r}, a user the broker does not define"
        assert REQUIRED_VARIABLE.match(password), f"{name}'s broker password is written in the compose file"
        broker_users[name] = user
    assert len(set(broker_users.values())) == len(BROKER_CLIENTS), broker_users


def test_the_definitions_generator_makes_no_administrator() -> None:
    generated = definitions({user: f"{user}-password" for user in SERVICE_USERS})
    assert [user["tags"] for user in generated["users"]] == [[] for _ in SERVICE_USERS]
    assert {permission["vhost"] for permission in generated["permissions"]} == {"/"}


def test_no_password_or_key_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text()
    assert [secret for secret in DEV_SECRETS if secret in text] == []
    assert "postgres:postgres@" not in text
    assert "guest:guest@" not in text
    for name, service in services().items():
        environment = service.get("environment", {})
        for variable in (
            "POSTGRES_PASSWORD",
            "INTERNAL_API_KEY",
            "GATEWAY_API_KEYS",
            "GATEWAY_ADMIN_API_KEY",
            "JWT_SECRET",
            "BOUNCE_SIGNING_KEY",
            "DKIM_KEY_SECRET",
        ):
            if variable in environment:
                assert REQUIRED_VARIABLE.match(environment[variable]), f"{name} writes {variable} in the file"
        for variable, value in environment.items():
            if variable.endswith("_URL") and url_password(str(value))[1]:
                assert REQUIRED_VARIABLE.match(url_password(str(value))[1]), f"{name}'s {variable} has a password"


def test_the_file_says_what_must_never_face_a_network() -> None:
    header = COMPOSE.read_text().split("\nversion:", 1)[0]
    assert "MUST NEVER FACE A NETWORK" in header
    assert "compose.dev.env" in header
