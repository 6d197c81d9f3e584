"""Creating, reading, listing, updating and deleting users through the real server and the generated stub."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc
import pytest

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import PASSWORD, create_user, new_email, rpc_error


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    return [violation.field for violation in field_violations(error)]


async def test_create_user_returns_the_user_with_defaults_and_never_the_password(
    users: pb_grpc.UserServiceStub,
) -> None:
    email = new_email()
    user = await create_user(users, name="  Ada Lovelace ", email=email)

    assert uuid.UUID(user.id).version == 7
    assert (user.name, user.email, user.locale) == ("Ada Lovelace", email, "en")
    assert (user.preferences.email, user.preferences.push) == (True, True)
    assert list(user.devices) == []
    assert user.created_at.seconds > 0
    assert user.updated_at == user.created_at
    assert PASSWORD not in str(user)
    assert "argon2" not in str(user)


async def test_create_user_keeps_the_locale_and_preferences_given(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users, locale="pt-BR", preferences=pb.Preferences(email=False, push=True))
    assert user.locale == "pt-BR"
    assert (user.preferences.email, user.preferences.push) == (False, True)


async def test_the_password_is_stored_only_as_an_argon2_hash(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    user = await create_user(users)
    stored = await database.fetchval("SELECT password_hash FROM users WHERE id = $1", uuid.UUID(user.id))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ada@localhost"}, "email"),
        ({"email": "ada lovelace@example.com"}, "email"),
        ({"email": ""}, "email"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"password": "seven77"}, "password"),
        ({"locale": "english please"}, "locale"),
    ],
)
async def test_create_user_names_the_bad_field(users: pb_grpc.UserServiceStub, fields: dict, field: str) -> None:
    error = await rpc_error(create_user(users, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == [field]
    assert field in error.details()


async def test_create_user_names_every_bad_field_at_once(users: pb_grpc.UserServiceStub) -> None:
    error = await rpc_error(users.CreateUser(pb.CreateUserRequest(name=" ", email="nope", password="short")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == ["name", "email", "password"]


async def test_a_taken_email_is_already_exists_whatever_its_case(users: pb_grpc.UserServiceStub) -> None:
    email = new_email()
    await create_user(users, email=email)
    error = await rpc_error(create_user(users, email=email.upper()))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert violated_fields(error) == ["email"]


async def test_get_user_returns_preferences_and_devices(users: pb_grpc.UserServiceStub) -> None:
    created = await create_user(users)
    await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=created.id, preferences=pb.Preferences(email=True, push=False))
    )
    await users.AddDevice(pb.AddDeviceRequest(user_id=created.id, token="tok-a", platform=pb.PLATFORM_ANDROID))
    await users.AddDevice(pb.AddDeviceRequest(user_id=created.id, token="tok-b", platform=pb.PLATFORM_WEB))

    user = (await users.GetUser(pb.GetUserRequest(user_id=created.id))).user

    assert (user.id, user.email, user.name) == (created.id, created.email, created.name)
    assert (user.preferences.email, user.preferences.push) == (True, False)
    assert [(d.token, d.platform) for d in user.devices] == [("tok-a", pb.PLATFORM_ANDROID), ("tok-b", pb.PLATFORM_WEB)]
    assert user.updated_at.ToDatetime() > created.updated_at.ToDatetime()


async def test_get_user_errors(users: pb_grpc.UserServiceStub) -> None:
    missing = await rpc_error(users.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4()))))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    malformed = await rpc_error(users.GetUser(pb.GetUserRequest(user_id="42")))
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(malformed) == ["user_id"]


async def test_update_user_changes_only_the_fields_that_are_set(users: pb_grpc.UserServiceStub) -> None:
    created = await create_user(users, locale="en")
    email = new_email("renamed")

    updated = (await users.UpdateUser(pb.UpdateUserRequest(user_id=created.id, name="Ada King", email=email))).user

    assert (updated.name, updated.email, updated.locale) == ("Ada King", email, "en")
    assert updated.created_at == created.created_at
    assert updated.updated_at.ToDatetime() > created.updated_at.ToDatetime()
    again = (await users.GetUser(pb.GetUserRequest(user_id=created.id))).user
    assert again == updated


async def test_update_user_changes_the_password(users: pb_grpc.UserServiceStub) -> None:
    created = await create_user(users)
    await users.UpdateUser(pb.UpdateUserRequest(user_id=created.id, password="a new passphrase"))

    old = await rpc_error(users.Authenticate(pb.AuthenticateRequest(email=created.email, password=PASSWORD)))
    assert old.code() == grpc.StatusCode.UNAUTHENTICATED
    reply = await users.Authenticate(pb.AuthenticateRequest(email=created.email, password="a new passphrase"))
    assert reply.user_id == created.id


async def test_update_user_with_nothing_set_returns_the_user_unchanged(users: pb_grpc.UserServiceStub) -> None:
    created = await create_user(users)
    assert (await users.UpdateUser(pb.UpdateUserRequest(user_id=created.id))).user == created


async def test_update_user_errors(users: pb_grpc.UserServiceStub) -> None:
    first, second = await create_user(users), await create_user(users)

    taken = await rpc_error(users.UpdateUser(pb.UpdateUserRequest(user_id=second.id, email=first.email.upper())))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS

    bad = await rpc_error(
        users.UpdateUser(pb.UpdateUserRequest(user_id=first.id, name="", email="x@", password="short", locale="!"))
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(bad) == ["name", "email", "locale", "password"]

    missing = await rpc_error(users.UpdateUser(pb.UpdateUserRequest(user_id=str(uuid.uuid4()), name="Nobody")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    missing = await rpc_error(users.UpdateUser(pb.UpdateUserRequest(user_id=str(uuid.uuid4()))))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    malformed = await rpc_error(users.UpdateUser(pb.UpdateUserRequest(user_id="nope", name="X")))
    assert violated_fields(malformed) == ["user_id"]


async def test_delete_user_removes_the_user_with_preferences_and_devices(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    created = await create_user(users)
    await users.AddDevice(pb.AddDeviceRequest(user_id=created.id, token="tok", platform=pb.PLATFORM_IOS))

    await users.DeleteUser(pb.DeleteUserRequest(user_id=created.id))

    assert (await rpc_error(users.GetUser(pb.GetUserRequest(user_id=created.id)))).code() == grpc.StatusCode.NOT_FOUND
    user_id = uuid.UUID(created.id)
    for table in ("users", "preferences", "devices"):
        column = "id" if table == "users" else "user_id"
        assert await database.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", user_id) == 0  # noqa: S608
    again = await rpc_error(users.DeleteUser(pb.DeleteUserRequest(user_id=created.id)))
    assert again.code() == grpc.StatusCode.NOT_FOUND
    malformed = await rpc_error(users.DeleteUser(pb.DeleteUserRequest(user_id="")))
    assert violated_fields(malformed) == ["user_id"]


async def list_everything(users: pb_grpc.UserServiceStub, page_size: int) -> list[pb.User]:
    listed: list[pb.User] = []
    token = ""
    while True:
        page = await users.ListUsers(pb.ListUsersRequest(page_size=page_size, page_token=token))
        assert len(page.users) <= page_size
        listed.extend(page.users)
        token = page.next_page_token
        if not token:
            return listed


async def test_list_users_pages_through_everyone_in_creation_order(users: pb_grpc.UserServiceStub) -> None:
    created = await asyncio.gather(*(create_user(users) for _ in range(101)))
    mine = {user.id for user in created}

    listed = await list_everything(users, page_size=7)

    ids = [user.id for user in listed]
    assert len(ids) == len(set(ids)), "a user appeared on two pages"
    assert ids == sorted(ids), "ids (UUIDv7) are the stable creation order"
    assert mine <= set(ids)
    assert [user_id for user_id in ids if user_id in mine] == sorted(mine)
    assert len((await users.ListUsers(pb.ListUsersRequest())).users) == 20
    assert len((await users.ListUsers(pb.ListUsersRequest(page_size=1000))).users) == 100


async def test_list_users_errors(users: pb_grpc.UserServiceStub) -> None:
    for token in ("garbage!", "AAAA", str(uuid.uuid4())):
        error = await rpc_error(users.ListUsers(pb.ListUsersRequest(page_token=token)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(error) == ["page_token"]
    error = await rpc_error(users.ListUsers(pb.ListUsersRequest(page_size=-1)))
    assert violated_fields(error) == ["page_size"]
