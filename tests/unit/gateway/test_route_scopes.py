"""Every route declares what may call it: an API key's scope, listed in the OpenAPI document, or one of the few
access rules without a scope. A route added without a declaration fails here."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from gateway.app import create_app
from gateway.scopes import Scope
from gateway.settings import GatewaySettings

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/problems/{name}"),
    ("POST", "/v1/auth/login"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
}
"""Routes that need no credentials."""
WITHOUT_SCOPE = {
    ("GET", "/v1/auth/whoami"): "any credential",
    ("GET", "/v1/me/notifications"): "a user token",
}
OPERATOR_PREFIX = "/v1/applications"
"""Applications and keys: the operator's key only."""
EXPECTED = {
    ("POST", "/v1/notifications/send"): Scope.NOTIFICATIONS_SEND,
    ("POST", "/v1/notifications/batch"): Scope.NOTIFICATIONS_SEND,
    ("GET", "/v1/notifications"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/notifications/{notification_id}"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/notifications/{notification_id}/status"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/notifications/{notification_id}/events"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/notifications/{notification_id}/content"): Scope.NOTIFICATIONS_READ,
    ("POST", "/v1/notifications/{notification_id}/cancel"): Scope.NOTIFICATIONS_SEND,
    ("GET", "/v1/broadcasts"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/broadcasts/{broadcast_id}"): Scope.NOTIFICATIONS_READ,
    ("POST", "/v1/broadcasts/{broadcast_id}/cancel"): Scope.NOTIFICATIONS_SEND,
    ("POST", "/v1/users"): Scope.USERS_WRITE,
    ("GET", "/v1/users"): Scope.USERS_READ,
    ("GET", "/v1/users/{user_id}"): Scope.USERS_READ,
    ("PATCH", "/v1/users/{user_id}"): Scope.USERS_WRITE,
    ("DELETE", "/v1/users/{user_id}"): Scope.USERS_WRITE,
    ("PUT", "/v1/users/{user_id}/preferences"): Scope.USERS_WRITE,
    ("PATCH", "/v1/users/{user_id}/preferences"): Scope.USERS_WRITE,
    ("POST", "/v1/users/{user_id}/devices"): Scope.USERS_WRITE,
    ("DELETE", "/v1/users/{user_id}/devices/{token}"): Scope.USERS_WRITE,
    ("POST", "/v1/templates"): Scope.TEMPLATES_WRITE,
    ("GET", "/v1/templates"): Scope.TEMPLATES_READ,
    ("GET", "/v1/templates/{slug}"): Scope.TEMPLATES_READ,
    ("PUT", "/v1/templates/{slug}"): Scope.TEMPLATES_WRITE,
    ("DELETE", "/v1/templates/{slug}"): Scope.TEMPLATES_WRITE,
    ("GET", "/v1/templates/{slug}/versions"): Scope.TEMPLATES_READ,
    ("POST", "/v1/templates/{slug}/versions/{version}/activate"): Scope.TEMPLATES_WRITE,
    ("POST", "/v1/templates/{slug}/render"): Scope.TEMPLATES_READ,
    ("PUT", "/v1/categories/{key}"): Scope.TEMPLATES_WRITE,
    ("GET", "/v1/categories"): Scope.TEMPLATES_READ,
    ("GET", "/v1/suppressions"): Scope.SUPPRESSIONS_MANAGE,
    ("POST", "/v1/suppressions"): Scope.SUPPRESSIONS_MANAGE,
    ("DELETE", "/v1/suppressions/{address}"): Scope.SUPPRESSIONS_MANAGE,
    ("GET", "/v1/sending-domains"): Scope.TEMPLATES_READ,
    ("GET", "/v1/sending-domains/{domain}"): Scope.TEMPLATES_READ,
    ("PUT", "/v1/sending-domains/{domain}"): Scope.TEMPLATES_WRITE,
    ("DELETE", "/v1/sending-domains/{domain}"): Scope.TEMPLATES_WRITE,
    ("GET", "/v1/stats"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/dead-letters"): Scope.NOTIFICATIONS_READ,
    ("GET", "/v1/dead-letters/{dead_letter_id}"): Scope.NOTIFICATIONS_READ,
    ("POST", "/v1/dead-letters/replay"): Scope.DEAD_LETTERS_MANAGE,
    ("POST", "/v1/dead-letters/{dead_letter_id}/replay"): Scope.DEAD_LETTERS_MANAGE,
    ("DELETE", "/v1/dead-letters/{dead_letter_id}"): Scope.DEAD_LETTERS_MANAGE,
    ("POST", "/v1/topics"): Scope.TOPICS_MANAGE,
    ("GET", "/v1/topics"): Scope.TOPICS_MANAGE,
    ("GET", "/v1/topics/{key}"): Scope.TOPICS_MANAGE,
    ("DELETE", "/v1/topics/{key}"): Scope.TOPICS_MANAGE,
    ("POST", "/v1/topics/{key}/subscribers"): Scope.TOPICS_MANAGE,
    ("DELETE", "/v1/topics/{key}/subscribers"): Scope.TOPICS_MANAGE,
    ("GET", "/v1/topics/{key}/subscribers"): Scope.TOPICS_MANAGE,
    ("POST", "/v1/webhooks"): Scope.WEBHOOKS_MANAGE,
    ("GET", "/v1/webhooks"): Scope.WEBHOOKS_MANAGE,
    ("GET", "/v1/webhooks/{webhook_id}"): Scope.WEBHOOKS_MANAGE,
    ("PATCH", "/v1/webhooks/{webhook_id}"): Scope.WEBHOOKS_MANAGE,
    ("DELETE", "/v1/webhooks/{webhook_id}"): Scope.WEBHOOKS_MANAGE,
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): Scope.WEBHOOKS_MANAGE,
    ("POST", "/v1/webhooks/{webhook_id}/test"): Scope.WEBHOOKS_MANAGE,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Scope.WEBHOOKS_MANAGE,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"): Scope.WEBHOOKS_MANAGE,
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): Scope.WEBHOOKS_MANAGE,
    ("POST", "/v1/webhooks/{webhook_id}/replay"): Scope.WEBHOOKS_MANAGE,
}
"""The contract's route-by-route list (docs/api.md "Scopes")."""


def _operations() -> list[tuple[str, str, dict[str, object]]]:
    app = create_app(GatewaySettings())
    document = app.openapi()
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.route, APIRoute):
            continue  # FastAPI's own /docs and /openapi.json
        for method in sorted(context.methods - {"HEAD"}):
            operation = document["paths"].get(context.path, {}).get(method.lower(), {"security": "undocumented"})
            found.append((method, context.path, operation))
    return found


OPERATIONS = _operations()


def _declared_scopes(operation: dict[str, object]) -> set[str]:
    requirements = operation.get("security") or []
    assert isinstance(requirements, list)
    return {scope for requirement in requirements for scopes in requirement.values() for scope in scopes}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_route_declares_its_access(method: str, path: str, operation: dict[str, object]) -> None:
    route = (method, path)
    scopes = _declared_scopes(operation)
    if route in PUBLIC:
        assert not operation.get("security"), f"{method} {path} is public but asks for credentials"
    elif route in WITHOUT_SCOPE or path.startswith(OPERATOR_PREFIX):
        assert operation.get("security"), f"{method} {path} declares no credential"
        assert not scopes, f"{method} {path} needs no scope, yet declares {scopes}"
    else:
        assert len(scopes) == 1, f"{method} {path} must declare exactly one scope, declares {scopes or 'none'}"
        assert scopes == {EXPECTED.get(route)}, (
            f"{method} {path} declares {scopes}, the contract says {EXPECTED.get(route)}"
        )


def test_the_contract_list_names_only_routes_that_exist() -> None:
    assert set(EXPECTED) <= {(method, path) for method, path, _ in OPERATIONS}
