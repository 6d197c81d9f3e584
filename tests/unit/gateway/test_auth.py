"""The operator's key, application keys (configured and issued) and user tokens, and what each may touch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from common.applications import DEFAULT_APPLICATION_ID
from common.tokens import issue_token
from gateway.auth import ADMIN_KEY_ID, Authenticator, Caller, key_id
from gateway.errors import ProblemError
from gateway.problem_types import ProblemType
from gateway.scopes import ALL_SCOPES, Scope
from gateway.tenancy.keys import NewKey, generate_key
from gateway.tenancy.records import ApplicationState, KeyGrant, KeyMode

SECRET = "unit-test-jwt-secret-of-enough-length"
ADMIN_KEY = "unit-test-admin-key-of-enough-length!"
OTHER_APPLICATION = uuid.uuid4()
DISABLED_APPLICATION = uuid.uuid4()


@dataclass
class Directory:
    """Keys and applications as the cache would answer them, and the uses noted."""

    keys: dict[str, KeyGrant] = field(default_factory=dict)
    applications: dict[uuid.UUID, ApplicationState] = field(
        default_factory=lambda: {
            DEFAULT_APPLICATION_ID: ApplicationState(DEFAULT_APPLICATION_ID, None, disabled=False),
            OTHER_APPLICATION: ApplicationState(OTHER_APPLICATION, 7, disabled=False),
            DISABLED_APPLICATION: ApplicationState(DISABLED_APPLICATION, None, disabled=True),
        }
    )
    uses: list[str] = field(default_factory=list)

    async def key(self, key_id: str) -> KeyGrant | None:
        return self.keys.get(key_id)

    async def application(self, application_id: uuid.UUID) -> ApplicationState | None:
        return self.applications.get(application_id)

    def issue(
        self, application_id: uuid.UUID, scopes: frozenset[Scope], mode: KeyMode = KeyMode.LIVE, revoked: bool = False
    ) -> NewKey:
        key = generate_key()
        self.keys[key.key_id] = KeyGrant(key.key_id, application_id, key.secret_hash, scopes, mode, revoked)
        return key

    def used(self, key_id: str) -> None:
        self.uses.append(key_id)


def authenticator(directory: Directory | None = None) -> Authenticator:
    directory = directory or Directory()
    return Authenticator(
        ["key-one", "key-two"],
        SECRET,
        admin_key=ADMIN_KEY,
        credentials=directory,
        usage=directory,
    )


async def test_each_configured_key_is_the_default_application_with_every_scope() -> None:
    caller = await authenticator().authenticate("key-two", None)
    assert caller.key_id == key_id("key-two")
    assert "key-two" not in (caller.key_id or "")
    assert caller.require_application() == caller.key_id
    assert (caller.application_id, caller.scopes, caller.admin) == (DEFAULT_APPLICATION_ID, ALL_SCOPES, False)


@pytest.mark.parametrize(
    ("api_key", "authorization"), [(None, None), ("key-three", None), (None, "Basic abc"), (None, "Bearer garbage")]
)
async def test_anything_else_is_401(api_key: str | None, authorization: str | None) -> None:
    with pytest.raises(ProblemError) as caught:
        await authenticator().authenticate(api_key, authorization)
    assert caught.value.status == 401


async def test_an_issued_key_acts_in_its_application_with_its_scopes_and_mode() -> None:
    directory = Directory()
    key = directory.issue(OTHER_APPLICATION, frozenset({Scope.NOTIFICATIONS_SEND}), KeyMode.TEST)
    caller = await authenticator(directory).authenticate(key.key, None, str(DEFAULT_APPLICATION_ID))
    assert caller.application_id == OTHER_APPLICATION  # X-Application-Id is the operator's only
    assert (caller.key_id, caller.scopes, caller.test_mode) == (key.key_id, {Scope.NOTIFICATIONS_SEND}, True)
    assert caller.rate_limit_per_minute == 7
    assert directory.uses == [key.key_id]


async def test_an_unknown_revoked_wrong_or_disabled_key_gets_one_and_the_same_401() -> None:
    directory = Directory()
    live = directory.issue(OTHER_APPLICATION, ALL_SCOPES)
    revoked = directory.issue(OTHER_APPLICATION, ALL_SCOPES, revoked=True)
    disabled = directory.issue(DISABLED_APPLICATION, ALL_SCOPES)
    unknown = generate_key()
    wrong_secret = live.key[:-4] + ("AAAA" if not live.key.endswith("AAAA") else "BBBB")
    details = set()
    for presented in (revoked.key, disabled.key, unknown.key, wrong_secret, "nk_", "nk_zz_secret", "nk_" + "a" * 200):
        with pytest.raises(ProblemError) as caught:
            await authenticator(directory).authenticate(presented, None)
        assert caught.value.status == 401
        details.add(caught.value.detail)
    assert len(details) == 1
    assert directory.uses == []


async def test_the_operator_acts_in_the_named_application_or_the_default_one() -> None:
    caller = await authenticator().authenticate(ADMIN_KEY, None)
    assert (caller.admin, caller.application_id, caller.key_id) == (True, DEFAULT_APPLICATION_ID, ADMIN_KEY_ID)
    assert caller.scopes == ALL_SCOPES
    caller.require_admin()
    other = await authenticator().authenticate(ADMIN_KEY, None, str(OTHER_APPLICATION))
    assert other.application_id == OTHER_APPLICATION


@pytest.mark.parametrize("header", ["not-a-uuid", str(uuid.uuid4()), str(DISABLED_APPLICATION)])
async def test_the_operator_naming_no_enabled_application_is_404(header: str) -> None:
    with pytest.raises(ProblemError) as caught:
        await authenticator().authenticate(ADMIN_KEY, None, header)
    assert caught.value.status == 404


async def test_only_the_operator_passes_require_admin() -> None:
    caller = await authenticator().authenticate("key-one", None)
    with pytest.raises(ProblemError) as caught:
        caller.require_admin()
    assert caught.value.status == 403


async def test_an_expired_or_foreign_token_is_401() -> None:
    user = str(uuid.uuid4())
    for token in (
        issue_token(user, SECRET, 60, version=0, now=0),
        issue_token(user, "another-secret-entirely-of-enough-length", 60, version=0),
        issue_token(user, SECRET, 60, version=0, application_id=DISABLED_APPLICATION),
        issue_token(user, SECRET, 60, version=0, application_id=uuid.uuid4()),
    ):
        with pytest.raises(ProblemError) as caught:
            await authenticator().authenticate(None, f"Bearer {token}")
        assert caught.value.status == 401


async def test_a_user_token_acts_in_its_application_and_reaches_only_its_own_user() -> None:
    user = uuid.uuid4()
    token = issue_token(str(user), SECRET, 60, version=0, application_id=OTHER_APPLICATION)
    caller = await authenticator().authenticate(None, f"Bearer {token}")
    assert (caller.user_id, caller.application_id, caller.scopes) == (user, OTHER_APPLICATION, frozenset())
    caller.require_user(user)
    with pytest.raises(ProblemError) as other:
        caller.require_user(uuid.uuid4())
    assert other.value.status == 403
    with pytest.raises(ProblemError) as application:
        caller.require_application()
    assert application.value.status == 403


def test_a_key_without_the_routes_scope_is_403_naming_it() -> None:
    caller = Caller(DEFAULT_APPLICATION_ID, key_id="k", scopes=frozenset({Scope.NOTIFICATIONS_READ}))
    caller.require_scopes([Scope.NOTIFICATIONS_READ])
    with pytest.raises(ProblemError) as caught:
        caller.require_scopes([Scope.NOTIFICATIONS_SEND])
    assert (caught.value.status, caught.value.kind) == (403, ProblemType.SCOPE_MISSING)
    assert caught.value.extra == {"required_scope": "notifications:send"}
    user = Caller(DEFAULT_APPLICATION_ID, user_id=uuid.uuid4())
    user.require_scopes([Scope.USERS_WRITE])  # a token's routes check the user instead


async def test_an_application_reaches_every_user() -> None:
    (await authenticator().authenticate("key-one", None)).require_user(uuid.uuid4())
