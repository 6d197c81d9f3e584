"""GetNotificationProfiles: the profiles of many users of one application in one query, the ids of no user
of it in ``missing_user_ids``, and a clear INVALID_ARGUMENT for a request it cannot answer."""

from __future__ import annotations

import uuid

import grpc

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import counting_queries, create_user, rpc_error
from tests.support.user_service import RunningUserService


async def profiles_of(
    users: pb_grpc.UserServiceStub, user_ids: list[str], application_id: str = ""
) -> pb.GetNotificationProfilesResponse:
    return await users.GetNotificationProfiles(
        pb.GetNotificationProfilesRequest(user_ids=user_ids, application_id=application_id)
    )


async def test_found_users_come_with_their_profiles_and_the_rest_as_missing(
    users: pb_grpc.UserServiceStub, user_service: RunningUserService
) -> None:
    application_id = str(uuid.uuid4())
    first = await create_user(users, application_id=application_id, locale="pt-BR")
    second = await create_user(users, application_id=application_id, preferences=pb.Preferences(email=False, push=True))
    await users.AddDevice(
        pb.AddDeviceRequest(user_id=second.id, token="tok", platform=pb.PLATFORM_IOS, application_id=application_id)
    )
    elsewhere = await create_user(users)  # the default application's: missing here
    unknown = str(uuid.uuid4())

    with counting_queries(user_service.service.engine) as queries:
        reply = await profiles_of(users, [unknown, first.id, elsewhere.id, second.id], application_id)

    assert len(queries) == 1, "one query for every id"
    by_id = {profile.user_id: profile for profile in reply.profiles}
    assert set(by_id) == {first.id, second.id}
    single = await users.GetNotificationProfile(
        pb.GetNotificationProfileRequest(user_id=second.id, application_id=application_id)
    )
    assert by_id[second.id] == single.profile
    assert (by_id[first.id].email, by_id[first.id].locale) == (first.email, "pt-BR")
    assert list(by_id[second.id].device_tokens) == ["tok"]
    assert not by_id[second.id].preferences.email
    assert list(reply.missing_user_ids) == [unknown, elsewhere.id]


async def test_a_thousand_ids_are_one_call(users: pb_grpc.UserServiceStub) -> None:
    created = await create_user(users)
    ids = [created.id, *(str(uuid.uuid4()) for _ in range(999))]

    reply = await profiles_of(users, ids)

    assert [profile.user_id for profile in reply.profiles] == [created.id]
    assert len(reply.missing_user_ids) == 999


async def test_no_id_or_more_than_a_thousand_is_invalid(users: pb_grpc.UserServiceStub) -> None:
    for ids in ([], [str(uuid.uuid4()) for _ in range(1001)]):
        error = await rpc_error(profiles_of(users, ids))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(error)] == ["user_ids"]
        assert "1 to 1000" in error.details()


async def test_malformed_ids_are_named_by_index(users: pb_grpc.UserServiceStub) -> None:
    good = str(uuid.uuid4())
    error = await rpc_error(profiles_of(users, [good, "nope", "12"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(error)] == ["user_ids.1", "user_ids.2"]


async def test_a_repeated_id_is_asked_once(users: pb_grpc.UserServiceStub) -> None:
    missing = str(uuid.uuid4())
    reply = await profiles_of(users, [missing, missing])
    assert list(reply.missing_user_ids) == [missing]
