"""Applications isolate users (docs/design.md §3): every RPC acts in its request's application, and a user of
another application is NOT_FOUND, exactly as if it did not exist."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest
from aio_pika.abc import AbstractQueue
from prometheus_client import REGISTRY

from common.applications import DEFAULT_APPLICATION_ID
from common.grpc.errors import field_violations
from common.tokens import verify_token
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import (
    PASSWORD,
    changes_until,
    create_user,
    new_email,
    next_change,
    rpc_error,
)
from tests.support.purges import REFUSED_PURGES
from tests.support.user_service import JWT_SECRET

TOKEN = "device-token-of-a"
TOPIC = "news"


@dataclass(frozen=True)
class Owned:
    """A user of application ``application_id``, with one device, subscribed to its topic :data:`TOPIC`."""

    application_id: str
    user: pb.User


Case = Callable[[pb_grpc.UserServiceStub, Owned, str], Awaitable[None]]


async def not_found(call: Awaitable[object]) -> None:
    error = await rpc_error(call)
    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


async def get_user(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(users.GetUser(pb.GetUserRequest(user_id=owned.user.id, application_id=application_id)))


async def list_users(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    listed = await users.ListUsers(pb.ListUsersRequest(page_size=100, application_id=application_id))
    assert list(listed.users) == []


async def update_user(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.UpdateUserRequest(user_id=owned.user.id, name="Taken over", application_id=application_id)
    await not_found(users.UpdateUser(request))
    with_password = pb.UpdateUserRequest(
        user_id=owned.user.id, password="another password", current_password=PASSWORD, application_id=application_id
    )
    await not_found(users.UpdateUser(with_password))


async def delete_user(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(users.DeleteUser(pb.DeleteUserRequest(user_id=owned.user.id, application_id=application_id)))


async def update_preferences(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.UpdatePreferencesRequest(
        user_id=owned.user.id, preferences=pb.Preferences(), application_id=application_id
    )
    await not_found(users.UpdatePreferences(request))
    request.preferences.timezone = "Asia/Tokyo"
    request.update_mask.paths[:] = ["timezone", "quiet_hours"]
    await not_found(users.UpdatePreferences(request))


async def add_device(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.AddDeviceRequest(
        user_id=owned.user.id, token="planted", platform=pb.PLATFORM_WEB, application_id=application_id
    )
    await not_found(users.AddDevice(request))


async def remove_device(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.RemoveDeviceRequest(user_id=owned.user.id, token=TOKEN, application_id=application_id)
    await not_found(users.RemoveDevice(request))


async def authenticate(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.AuthenticateRequest(email=owned.user.email, password=PASSWORD, application_id=application_id)
    error = await rpc_error(users.Authenticate(request))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def get_notification_profile(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.GetNotificationProfileRequest(user_id=owned.user.id, application_id=application_id)
    await not_found(users.GetNotificationProfile(request))


async def get_notification_profiles(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.GetNotificationProfilesRequest(user_ids=[owned.user.id], application_id=application_id)
    reply = await users.GetNotificationProfiles(request)
    assert (list(reply.profiles), list(reply.missing_user_ids)) == ([], [owned.user.id])


async def purge(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.PurgeApplicationUsersRequest(application_id=application_id, limit=10)
    assert (await users.PurgeApplicationUsers(request)).deleted == 0


async def get_topic(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(users.GetTopic(pb.GetTopicRequest(key=TOPIC, application_id=application_id)))


async def list_topics(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    listed = await users.ListTopics(pb.ListTopicsRequest(page_size=100, application_id=application_id))
    assert list(listed.topics) == []


async def delete_topic(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(users.DeleteTopic(pb.DeleteTopicRequest(key=TOPIC, application_id=application_id)))


async def subscribe(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.SubscribeRequest(key=TOPIC, user_ids=[owned.user.id], application_id=application_id)
    await not_found(users.Subscribe(request))


async def unsubscribe(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.UnsubscribeRequest(key=TOPIC, user_ids=[owned.user.id], application_id=application_id)
    await not_found(users.Unsubscribe(request))


async def list_subscribers(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    await not_found(users.ListSubscribers(pb.ListSubscribersRequest(key=TOPIC, application_id=application_id)))


async def list_subscriber_profiles(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    request = pb.ListSubscriberProfilesRequest(key=TOPIC, limit=10, application_id=application_id)
    await not_found(users.ListSubscriberProfiles(request))


async def create_topic_with_the_same_key(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    # After the other topic cases: from here on the other application has a topic with this key, its own,
    # which the first application's user cannot join.
    request = pb.CreateTopicRequest(key=TOPIC, name="Theirs", application_id=application_id)
    assert (await users.CreateTopic(request)).topic.subscribers == 0
    joining = pb.SubscribeRequest(key=TOPIC, user_ids=[owned.user.id], application_id=application_id)
    error = await rpc_error(users.Subscribe(joining))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def create_user_with_the_same_email(users: pb_grpc.UserServiceStub, owned: Owned, application_id: str) -> None:
    # Last: from here on the other application has a user with this email, its own.
    created = await create_user(users, email=owned.user.email, application_id=application_id)
    assert created.id != owned.user.id


IN_ANOTHER_APPLICATION: dict[str, Case] = {
    "GetUser": get_user,
    "ListUsers": list_users,
    "UpdateUser": update_user,
    "DeleteUser": delete_user,
    "UpdatePreferences": update_preferences,
    "AddDevice": add_device,
    "RemoveDevice": remove_device,
    "Authenticate": authenticate,
    "GetNotificationProfile": get_notification_profile,
    "GetNotificationProfiles": get_notification_profiles,
    "PurgeApplicationUsers": purge,
    "GetTopic": get_topic,
    "ListTopics": list_topics,
    "DeleteTopic": delete_topic,
    "Subscribe": subscribe,
    "Unsubscribe": unsubscribe,
    "ListSubscribers": list_subscribers,
    "ListSubscriberProfiles": list_subscriber_profiles,
    "CreateTopic": create_topic_with_the_same_key,
    "CreateUser": create_user_with_the_same_email,
}
"""What each RPC does, called in another application with the ids of a user of the first."""


def test_every_rpc_has_a_case_in_another_application() -> None:
    rpcs = {method.name for method in pb.DESCRIPTOR.services_by_name["UserService"].methods}
    assert set(IN_ANOTHER_APPLICATION) == rpcs


async def new_owned(users: pb_grpc.UserServiceStub) -> Owned:
    application_id = str(uuid.uuid4())
    user = await create_user(users, application_id=application_id)
    await users.AddDevice(
        pb.AddDeviceRequest(user_id=user.id, token=TOKEN, platform=pb.PLATFORM_ANDROID, application_id=application_id)
    )
    await users.CreateTopic(pb.CreateTopicRequest(key=TOPIC, name="News", application_id=application_id))
    await users.Subscribe(pb.SubscribeRequest(key=TOPIC, user_ids=[user.id], application_id=application_id))
    return Owned(
        application_id, (await users.GetUser(pb.GetUserRequest(user_id=user.id, application_id=application_id))).user
    )


async def test_each_rpc_in_another_application_finds_nothing_and_changes_nothing(
    users: pb_grpc.UserServiceStub,
) -> None:
    owned = await new_owned(users)
    in_a = owned.application_id
    # Cached in application A first: another application must not be served A's cached profile.
    profile_request = pb.GetNotificationProfileRequest(user_id=owned.user.id, application_id=in_a)
    cached = (await users.GetNotificationProfile(profile_request)).profile
    other = str(uuid.uuid4())

    for rpc, case in IN_ANOTHER_APPLICATION.items():
        try:
            await case(users, owned, other)
        except AssertionError as error:
            raise AssertionError(f"{rpc} in another application: {error}") from error

    assert (await users.GetUser(pb.GetUserRequest(user_id=owned.user.id, application_id=in_a))).user == owned.user
    assert (await users.GetNotificationProfile(profile_request)).profile == cached
    subscribers = await users.ListSubscribers(pb.ListSubscribersRequest(key=TOPIC, application_id=in_a))
    assert [item.user_id for item in subscribers.subscriptions] == [owned.user.id]


async def test_the_same_calls_succeed_in_the_users_application(users: pb_grpc.UserServiceStub) -> None:
    owned = await new_owned(users)
    user_id, in_a = owned.user.id, owned.application_id

    listed = await users.ListUsers(pb.ListUsersRequest(page_size=100, application_id=in_a))
    assert [user.id for user in listed.users] == [user_id]
    profile = await users.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=user_id, application_id=in_a))
    assert list(profile.profile.device_tokens) == [TOKEN]
    profiles = await users.GetNotificationProfiles(
        pb.GetNotificationProfilesRequest(user_ids=[user_id], application_id=in_a)
    )
    assert list(profiles.profiles) == [profile.profile]
    signed_in = await users.Authenticate(
        pb.AuthenticateRequest(email=owned.user.email, password=PASSWORD, application_id=in_a)
    )
    claims = verify_token(signed_in.access_token, JWT_SECRET)
    assert (claims.user_id, str(claims.application_id)) == (user_id, in_a)
    await users.UpdateUser(pb.UpdateUserRequest(user_id=user_id, name="Renamed", application_id=in_a))
    await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=user_id, preferences=pb.Preferences(push=True), application_id=in_a)
    )
    await users.AddDevice(
        pb.AddDeviceRequest(user_id=user_id, token="second", platform=pb.PLATFORM_WEB, application_id=in_a)
    )
    await users.RemoveDevice(pb.RemoveDeviceRequest(user_id=user_id, token=TOKEN, application_id=in_a))
    topic = (await users.GetTopic(pb.GetTopicRequest(key=TOPIC, application_id=in_a))).topic
    assert (topic.key, topic.subscribers) == (TOPIC, 1)
    profiles = await users.ListSubscriberProfiles(
        pb.ListSubscriberProfilesRequest(key=TOPIC, limit=10, application_id=in_a)
    )
    assert [profile.user_id for profile in profiles.profiles] == [user_id]
    await users.Unsubscribe(pb.UnsubscribeRequest(key=TOPIC, user_ids=[user_id], application_id=in_a))
    await users.Subscribe(pb.SubscribeRequest(key=TOPIC, user_ids=[user_id], application_id=in_a))
    changed = (await users.GetUser(pb.GetUserRequest(user_id=user_id, application_id=in_a))).user
    assert (changed.name, changed.preferences.email, [d.token for d in changed.devices]) == (
        "Renamed",
        False,
        ["second"],
    )
    await users.DeleteUser(pb.DeleteUserRequest(user_id=user_id, application_id=in_a))
    await not_found(users.GetUser(pb.GetUserRequest(user_id=user_id, application_id=in_a)))


async def test_one_email_in_two_applications_is_two_users(users: pb_grpc.UserServiceStub) -> None:
    email = new_email()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    one = await create_user(users, email=email, application_id=first)
    two = await create_user(users, email=email.upper(), password="another password", application_id=second)

    taken = await rpc_error(create_user(users, email=email.upper(), application_id=first))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    for application_id, password, user in ((first, PASSWORD, one), (second, "another password", two)):
        signed_in = await users.Authenticate(
            pb.AuthenticateRequest(email=email, password=password, application_id=application_id)
        )
        assert signed_in.user_id == user.id
    # The address can move to an application where it is free, never onto another user of the same one.
    third = await create_user(users, application_id=first)
    clash = await rpc_error(users.UpdateUser(pb.UpdateUserRequest(user_id=third.id, email=email, application_id=first)))
    assert clash.code() == grpc.StatusCode.ALREADY_EXISTS


def without_application(rpc: str) -> float:
    return REGISTRY.get_sample_value("user_svc_requests_without_application_total", {"rpc": rpc}) or 0.0


async def test_a_request_without_application_acts_in_the_default_one_and_is_counted(
    users: pb_grpc.UserServiceStub,
) -> None:
    before = without_application("CreateUser"), without_application("GetUser")
    user = await create_user(users)
    await users.GetUser(pb.GetUserRequest(user_id=user.id, application_id=str(DEFAULT_APPLICATION_ID)))
    assert (without_application("CreateUser"), without_application("GetUser")) == (before[0] + 1, before[1])

    await users.GetUser(pb.GetUserRequest(user_id=user.id))
    assert without_application("GetUser") == before[1] + 1
    signed_in = await users.Authenticate(pb.AuthenticateRequest(email=user.email, password=PASSWORD))
    assert verify_token(signed_in.access_token, JWT_SECRET).application_id == DEFAULT_APPLICATION_ID


async def test_an_application_id_that_is_not_a_uuid_is_invalid(users: pb_grpc.UserServiceStub) -> None:
    error = await rpc_error(users.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4()), application_id="acme")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {violation.field: violation.description for violation in field_violations(error)} == {
        "application_id": "must be a UUID"
    }


async def test_events_name_the_application(users: pb_grpc.UserServiceStub, events: AbstractQueue) -> None:
    application_id = str(uuid.uuid4())
    user = await create_user(users, application_id=application_id)
    assert (await next_change(events, user.id)).application_id == application_id
    in_default = await create_user(users)
    assert (await next_change(events, in_default.id)).application_id == str(DEFAULT_APPLICATION_ID)


async def test_a_purge_deletes_the_applications_users_in_batches_without_events(
    users: pb_grpc.UserServiceStub,
    events: AbstractQueue,
) -> None:
    purged, kept = str(uuid.uuid4()), str(uuid.uuid4())
    doomed = [await create_user(users, application_id=purged) for _ in range(3)]
    survivor = await create_user(users, application_id=kept)
    for user in (*doomed, survivor):
        await next_change(events, user.id)

    counts = [
        (await users.PurgeApplicationUsers(pb.PurgeApplicationUsersRequest(application_id=purged, limit=2))).deleted
        for _ in range(3)
    ]

    assert counts == [2, 1, 0]
    for user in doomed:
        await not_found(users.GetUser(pb.GetUserRequest(user_id=user.id, application_id=purged)))
        await not_found(
            users.GetNotificationProfile(pb.GetNotificationProfileRequest(user_id=user.id, application_id=purged))
        )
    await users.GetUser(pb.GetUserRequest(user_id=survivor.id, application_id=kept))
    marker = await create_user(users, application_id=kept)
    published = await changes_until(events, marker.id)
    assert [(event.user_id, event.kind) for event in published] == [(marker.id, pb.CHANGE_KIND_CREATED)]


@pytest.mark.parametrize(("application_id", "limit", "field"), REFUSED_PURGES)
async def test_a_purge_names_an_application_other_than_the_default_and_a_sane_limit(
    users: pb_grpc.UserServiceStub, application_id: str, limit: int, field: str
) -> None:
    request = pb.PurgeApplicationUsersRequest(application_id=application_id, limit=limit)
    error = await rpc_error(users.PurgeApplicationUsers(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation.field for violation in field_violations(error)] == [field]
