"""API keys and user tokens, and what each may touch."""

from __future__ import annotations

import uuid

import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.tokens import issue_token
from gateway.auth import Authenticator, Caller, key_id
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.scopes import Scope

SECRET = "unit-test-jwt-secret-of-enough-length"


def authenticator() -> Authenticator:
    return Authenticator(["key-one", "key-two"], SECRET)


def test_each_configured_key_is_an_application_named_by_a_non_secret_id() -> None:
    caller = authenticator().authenticate("key-two", None)
    assert caller.key_id == key_id("key-two")
    assert "key-two" not in (caller.key_id or "")
    assert caller.require_application() == caller.key_id


@pytest.mark.parametrize(
    ("api_key", "authorization"), [(None, None), ("key-three", None), (None, "Basic abc"), (None, "Bearer garbage")]
)
def test_anything_else_is_401(api_key: str | None, authorization: str | None) -> None:
    with pytest.raises(ProblemError) as caught:
        authenticator().authenticate(api_key, authorization)
    assert caught.value.status == 401


def test_an_expired_or_foreign_token_is_401() -> None:
    user = str(uuid.uuid4())
    for token in (
        issue_token(user, SECRET, 60, version=0, now=0),
        issue_token(user, "another-secret-entirely-of-enough-length", 60, version=0),
    ):
        with pytest.raises(ProblemError) as caught:
            authenticator().authenticate(None, f"Bearer {token}")
        assert caught.value.status == 401


def test_a_user_token_reaches_only_its_own_user_and_no_application_route() -> None:
    user = uuid.uuid4()
    caller = authenticator().authenticate(None, f"Bearer {issue_token(str(user), SECRET, 60, version=0)}")
    assert caller.user_id == user
    caller.require_user(user)
    with pytest.raises(ProblemError) as other:
        caller.require_user(uuid.uuid4())
    assert other.value.status == 403
    with pytest.raises(ProblemError) as application:
        caller.require_application()
    assert application.value.status == 403


def test_an_application_reaches_every_user() -> None:
    authenticator().authenticate("key-one", None).require_user(uuid.uuid4())


def test_a_key_without_the_routes_scope_is_403_naming_it() -> None:
    caller = Caller(DEFAULT_APPLICATION_ID, key_id="k", scopes=frozenset({Scope.NOTIFICATIONS_READ}))
    caller.require_scopes([Scope.NOTIFICATIONS_READ])
    with pytest.raises(ProblemError) as caught:
        caller.require_scopes([Scope.NOTIFICATIONS_SEND])
    assert (caught.value.status, caught.value.kind) == (403, ProblemType.SCOPE_MISSING)
    assert caught.value.extra == {"required_scope": "notifications:send"}
    user = Caller(DEFAULT_APPLICATION_ID, user_id=uuid.uuid4())
    user.require_scopes([Scope.USERS_WRITE])  # a token's routes check the user instead
