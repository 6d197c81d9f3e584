"""Timezone and quiet hours: UpdatePreferences with an update_mask, the checks, and who sees the result."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
from aio_pika.abc import AbstractQueue
from google.protobuf.field_mask_pb2 import FieldMask

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import create_user, next_change, rpc_error

NIGHT = pb.QuietHours(start="22:00", end="07:00")


def patch(user_id: str, *paths: str, **preferences: object) -> pb.UpdatePreferencesRequest:
    """An UpdatePreferences that sets the fields ``paths`` names to ``preferences``."""
    return pb.UpdatePreferencesRequest(
        user_id=user_id, preferences=pb.Preferences(**preferences), update_mask=FieldMask(paths=list(paths))
    )


async def preferences_of(users: pb_grpc.UserServiceStub, user_id: str) -> pb.Preferences:
    return (await users.GetUser(pb.GetUserRequest(user_id=user_id))).user.preferences


async def test_a_new_user_is_in_utc_without_quiet_hours(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)

    assert user.preferences == pb.Preferences(email=True, push=True)
    assert not user.preferences.HasField("quiet_hours")


async def test_a_mask_sets_exactly_the_fields_it_names(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)

    reply = await users.UpdatePreferences(
        patch(user.id, "timezone", "quiet_hours", timezone="Europe/Lisbon", quiet_hours=NIGHT, email=False, push=False)
    )

    wanted = pb.Preferences(email=True, push=True, timezone="Europe/Lisbon", quiet_hours=NIGHT)
    assert reply.preferences == wanted  # email and push were not named: they stay on
    assert await preferences_of(users, user.id) == wanted
    reply = await users.UpdatePreferences(patch(user.id, "push", push=False, timezone="Asia/Tokyo"))
    assert reply.preferences == pb.Preferences(email=True, push=False, timezone="Europe/Lisbon", quiet_hours=NIGHT)


async def test_without_a_mask_only_email_and_push_change(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    await users.UpdatePreferences(patch(user.id, "timezone", "quiet_hours", timezone="Asia/Tokyo", quiet_hours=NIGHT))

    reply = await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=user.id, preferences=pb.Preferences(email=False, push=True, timezone="UTC"))
    )

    assert reply.preferences == pb.Preferences(email=False, push=True, timezone="Asia/Tokyo", quiet_hours=NIGHT)


async def test_naming_an_unset_field_clears_it(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    await users.UpdatePreferences(patch(user.id, "timezone", "quiet_hours", timezone="Asia/Tokyo", quiet_hours=NIGHT))

    reply = await users.UpdatePreferences(patch(user.id, "timezone", "quiet_hours"))

    assert reply.preferences == pb.Preferences(email=True, push=True)
    assert not (await preferences_of(users, user.id)).HasField("quiet_hours")


async def test_quiet_hours_may_span_midnight_or_not(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    for start, end in (("22:00", "07:00"), ("00:00", "23:59"), ("12:30", "13:15")):
        hours = pb.QuietHours(start=start, end=end)
        reply = await users.UpdatePreferences(patch(user.id, "quiet_hours", quiet_hours=hours))
        assert reply.preferences.quiet_hours == hours


async def test_bad_values_name_their_fields_and_change_nothing(
    users: pb_grpc.UserServiceStub, database: asyncpg.Connection
) -> None:
    user = await create_user(users)
    cases = [
        (patch(user.id, "timezone", timezone="Mars/Olympus"), ["preferences.timezone"]),
        (patch(user.id, "timezone", timezone="europe/lisbon"), ["preferences.timezone"]),
        (
            patch(user.id, "quiet_hours", quiet_hours=pb.QuietHours(start="7:00", end="24:00")),
            ["preferences.quiet_hours.start", "preferences.quiet_hours.end"],
        ),
        (patch(user.id, "quiet_hours", quiet_hours=pb.QuietHours(start="22:00")), ["preferences.quiet_hours.end"]),
        (
            patch(user.id, "quiet_hours", quiet_hours=pb.QuietHours(start="22:00", end="22:00")),
            ["preferences.quiet_hours.end"],
        ),
        (patch(user.id, "email", "preferences.push", "locale"), ["update_mask", "update_mask"]),
    ]
    for request, fields in cases:
        error = await rpc_error(users.UpdatePreferences(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert [v.field for v in field_violations(error)] == fields
    assert await preferences_of(users, user.id) == pb.Preferences(email=True, push=True)
    row = await database.fetchrow(
        "SELECT timezone, quiet_start, quiet_end FROM preferences WHERE user_id = $1", user.id
    )
    assert tuple(row) == (None, None, None)


async def test_a_mask_needs_no_preferences_but_no_mask_does(users: pb_grpc.UserServiceStub) -> None:
    user = await create_user(users)
    await users.UpdatePreferences(patch(user.id, "quiet_hours", quiet_hours=NIGHT))

    cleared = await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=user.id, update_mask=FieldMask(paths=["quiet_hours"]))
    )
    unset = await rpc_error(users.UpdatePreferences(pb.UpdatePreferencesRequest(user_id=user.id)))

    assert cleared.preferences == pb.Preferences(email=True, push=True)
    assert [v.field for v in field_violations(unset)] == ["preferences"]


async def test_each_change_publishes_user_changed_and_reaches_the_profile(
    users: pb_grpc.UserServiceStub, events: AbstractQueue
) -> None:
    user = await create_user(users)
    await next_change(events, user.id)
    profile_request = pb.GetNotificationProfileRequest(user_id=user.id)
    await users.GetNotificationProfile(profile_request)  # now cached

    await users.UpdatePreferences(patch(user.id, "timezone", "quiet_hours", timezone="Asia/Tokyo", quiet_hours=NIGHT))

    assert (await next_change(events, user.id)).kind == pb.CHANGE_KIND_UPDATED
    profile = (await users.GetNotificationProfile(profile_request)).profile
    assert profile.preferences == pb.Preferences(email=True, push=True, timezone="Asia/Tokyo", quiet_hours=NIGHT)

    await users.UpdatePreferences(patch(user.id, "quiet_hours"))

    assert (await next_change(events, user.id)).kind == pb.CHANGE_KIND_UPDATED
    profile = (await users.GetNotificationProfile(profile_request)).profile
    assert not profile.preferences.HasField("quiet_hours")


async def test_subscriber_profiles_carry_them_too(users: pb_grpc.UserServiceStub) -> None:
    application_id = str(uuid.uuid4())
    user = await create_user(users, application_id=application_id)
    request = patch(user.id, "timezone", "quiet_hours", timezone="Europe/Lisbon", quiet_hours=NIGHT)
    request.application_id = application_id
    await users.UpdatePreferences(request)
    await users.CreateTopic(pb.CreateTopicRequest(key="news", name="News", application_id=application_id))
    await users.Subscribe(pb.SubscribeRequest(key="news", user_ids=[user.id], application_id=application_id))

    page = await users.ListSubscriberProfiles(
        pb.ListSubscriberProfilesRequest(key="news", limit=10, application_id=application_id)
    )

    assert [profile.preferences for profile in page.profiles] == [
        pb.Preferences(email=True, push=True, timezone="Europe/Lisbon", quiet_hours=NIGHT)
    ]
