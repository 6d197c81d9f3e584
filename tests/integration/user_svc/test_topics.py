"""Topics and subscriptions (docs/design.md §7 "Later and many"): keys unique per application, subscribing
all or nothing and idempotent, subscriptions gone with their user or topic, and the subscriber pages the
fan-out reads returning every subscriber exactly once, in user id order."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
import pytest

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.user_svc.conftest import EMAIL_DOMAIN, create_user, rpc_error

Users = pb_grpc.UserServiceStub


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    return {violation.field: violation.description for violation in field_violations(error)}


async def new_topic(users: Users, application_id: str, key: str = "news", name: str = "News") -> pb.Topic:
    request = pb.CreateTopicRequest(key=key, name=name, application_id=application_id)
    return (await users.CreateTopic(request)).topic


async def subscribe(users: Users, application_id: str, key: str, user_ids: list[str]) -> int:
    request = pb.SubscribeRequest(key=key, user_ids=user_ids, application_id=application_id)
    return (await users.Subscribe(request)).added


async def subscriber_ids(users: Users, application_id: str, key: str) -> list[str]:
    request = pb.ListSubscribersRequest(key=key, page_size=1000, application_id=application_id)
    return [item.user_id for item in (await users.ListSubscribers(request)).subscriptions]


async def get_topic(users: Users, application_id: str, key: str = "news") -> pb.Topic:
    return (await users.GetTopic(pb.GetTopicRequest(key=key, application_id=application_id))).topic


@pytest.fixture
def application_id() -> str:
    return str(uuid.uuid4())


async def test_a_created_topic_is_got_with_its_subscriber_count(users: Users, application_id: str) -> None:
    created = await new_topic(users, application_id, "release-notes.v2_x", "  Release notes  ")
    assert (created.key, created.name, created.subscribers) == ("release-notes.v2_x", "Release notes", 0)
    assert created.HasField("created_at")
    ids = [(await create_user(users, application_id=application_id)).id for _ in range(2)]
    assert await subscribe(users, application_id, created.key, ids) == 2

    found = await get_topic(users, application_id, created.key)
    assert (found.name, found.subscribers, found.created_at) == ("Release notes", 2, created.created_at)


async def test_a_key_is_unique_per_application(users: Users, application_id: str) -> None:
    await new_topic(users, application_id)
    taken = await rpc_error(new_topic(users, application_id, name="Other"))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    assert violations(taken) == {"key": "is taken"}
    assert (await new_topic(users, str(uuid.uuid4()))).key == "news"


@pytest.mark.parametrize("key", ["", "News", "-news", ".news", "news letter", "a" * 65, "nëws", "news/1"])
async def test_a_malformed_key_is_invalid(users: Users, application_id: str, key: str) -> None:
    error = await rpc_error(new_topic(users, application_id, key=key))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"key"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "line\nbreak"])
async def test_a_bad_name_is_invalid(users: Users, application_id: str, name: str) -> None:
    error = await rpc_error(new_topic(users, application_id, name=name))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"name"}


async def test_topics_are_listed_by_key_in_pages(users: Users, application_id: str) -> None:
    keys = [f"topic-{index:02}" for index in range(5)]
    for key in reversed(keys):
        await new_topic(users, application_id, key)
    seen: list[str] = []
    token = ""
    while True:
        page = await users.ListTopics(
            pb.ListTopicsRequest(page_size=2, page_token=token, application_id=application_id)
        )
        seen += [topic.key for topic in page.topics]
        token = page.next_page_token
        if not token:
            break
    assert seen == keys

    foreign = await rpc_error(
        users.ListTopics(pb.ListTopicsRequest(page_token="garbage", application_id=application_id))
    )
    assert foreign.code() == grpc.StatusCode.INVALID_ARGUMENT
    users_token = (await users.ListUsers(pb.ListUsersRequest(page_size=1))).next_page_token
    if users_token:  # another listing's token is refused too
        refused = await rpc_error(users.ListTopics(pb.ListTopicsRequest(page_token=users_token)))
        assert violations(refused) == {"page_token": "is not a page token this service issued"}


async def test_subscribing_is_idempotent_and_unsubscribing_counts_what_was_subscribed(
    users: Users, application_id: str
) -> None:
    await new_topic(users, application_id)
    one, two = [(await create_user(users, application_id=application_id)).id for _ in range(2)]
    assert await subscribe(users, application_id, "news", [one, one]) == 1
    assert await subscribe(users, application_id, "news", [one, two]) == 1
    assert await subscribe(users, application_id, "news", [two]) == 0
    assert await subscriber_ids(users, application_id, "news") == sorted([one, two])

    request = pb.UnsubscribeRequest(key="news", user_ids=[one, str(uuid.uuid4())], application_id=application_id)
    assert (await users.Unsubscribe(request)).removed == 1
    assert (await users.Unsubscribe(request)).removed == 0
    assert await subscriber_ids(users, application_id, "news") == [two]


async def test_unknown_or_malformed_ids_subscribe_nobody(users: Users, application_id: str) -> None:
    await new_topic(users, application_id)
    member = (await create_user(users, application_id=application_id)).id
    stranger = (await create_user(users, application_id=str(uuid.uuid4()))).id
    nobody = str(uuid.uuid4())

    unknown = await rpc_error(subscribe(users, application_id, "news", [member, stranger, nobody]))
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(unknown) == {
        "user_ids.1": f"{stranger} is no user of the application",
        "user_ids.2": f"{nobody} is no user of the application",
    }
    malformed = await rpc_error(subscribe(users, application_id, "news", [member, "not-a-uuid"]))
    assert violations(malformed) == {"user_ids.1": "must be a UUID"}
    assert await subscriber_ids(users, application_id, "news") == []
    assert (await get_topic(users, application_id)).subscribers == 0


@pytest.mark.parametrize("count", [0, 1001])
async def test_a_subscribe_names_one_to_a_thousand_users(users: Users, application_id: str, count: int) -> None:
    await new_topic(users, application_id)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for call in (
        users.Subscribe(pb.SubscribeRequest(key="news", user_ids=ids, application_id=application_id)),
        users.Unsubscribe(pb.UnsubscribeRequest(key="news", user_ids=ids, application_id=application_id)),
    ):
        error = await rpc_error(call)
        assert violations(error) == {"user_ids": "must name 1 to 1000 users"}


async def test_an_unknown_topic_is_not_found(users: Users, application_id: str) -> None:
    user_id = (await create_user(users, application_id=application_id)).id
    for call in (
        users.GetTopic(pb.GetTopicRequest(key="missing", application_id=application_id)),
        users.DeleteTopic(pb.DeleteTopicRequest(key="missing", application_id=application_id)),
        users.Subscribe(pb.SubscribeRequest(key="missing", user_ids=[user_id], application_id=application_id)),
        users.Unsubscribe(pb.UnsubscribeRequest(key="missing", user_ids=[user_id], application_id=application_id)),
        users.ListSubscribers(pb.ListSubscribersRequest(key="missing", application_id=application_id)),
        users.ListSubscriberProfiles(
            pb.ListSubscriberProfilesRequest(key="missing", limit=10, application_id=application_id)
        ),
    ):
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()
        assert error.details() == "topic missing does not exist"


async def test_deleting_a_user_removes_its_subscriptions(users: Users, application_id: str) -> None:
    for key in ("news", "offers"):
        await new_topic(users, application_id, key)
    leaving, staying = [(await create_user(users, application_id=application_id)).id for _ in range(2)]
    for key in ("news", "offers"):
        await subscribe(users, application_id, key, [leaving, staying])

    await users.DeleteUser(pb.DeleteUserRequest(user_id=leaving, application_id=application_id))

    for key in ("news", "offers"):
        assert await subscriber_ids(users, application_id, key) == [staying]
        assert (await get_topic(users, application_id, key)).subscribers == 1


async def test_deleting_a_topic_removes_its_subscriptions_and_keeps_the_users(
    users: Users, application_id: str, database: asyncpg.Connection
) -> None:
    await new_topic(users, application_id)
    user_id = (await create_user(users, application_id=application_id)).id
    await subscribe(users, application_id, "news", [user_id])

    await users.DeleteTopic(pb.DeleteTopicRequest(key="news", application_id=application_id))

    gone = await rpc_error(get_topic(users, application_id))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    left = await database.fetchval(
        "SELECT count(*) FROM topic_subscriptions WHERE application_id = $1", uuid.UUID(application_id)
    )
    assert left == 0
    assert (await users.GetUser(pb.GetUserRequest(user_id=user_id, application_id=application_id))).user.id == user_id
    # The key is free again, for a topic without the old subscribers.
    assert (await new_topic(users, application_id)).subscribers == 0


async def test_subscribers_are_listed_by_user_id_in_pages(users: Users, application_id: str) -> None:
    await new_topic(users, application_id)
    ids = [(await create_user(users, application_id=application_id)).id for _ in range(5)]
    await subscribe(users, application_id, "news", ids)
    seen: list[pb.Subscription] = []
    token = ""
    while True:
        request = pb.ListSubscribersRequest(key="news", page_size=2, page_token=token, application_id=application_id)
        page = await users.ListSubscribers(request)
        seen += page.subscriptions
        token = page.next_page_token
        if not token:
            break
    assert [item.user_id for item in seen] == sorted(ids)
    assert all(item.HasField("subscribed_at") for item in seen)


async def insert_users(database: asyncpg.Connection, application_id: str, count: int) -> list[str]:
    """``count`` users of the application written straight to the database (hashing as many passwords
    through the service would take minutes); ids in random order, as UUIDv4s."""
    ids = [uuid.uuid4() for _ in range(count)]
    rows = [
        (user_id, uuid.UUID(application_id), f"Fan {index}", f"fan-{user_id.hex[:12]}@{EMAIL_DOMAIN}", "en", "x")
        for index, user_id in enumerate(ids)
    ]
    await database.executemany(
        "INSERT INTO users (id, application_id, name, email, locale, password_hash) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    await database.executemany("INSERT INTO preferences (user_id) VALUES ($1)", [(user_id,) for user_id in ids])
    return [str(user_id) for user_id in ids]


async def test_subscriber_profiles_page_through_every_subscriber_once_in_user_id_order(
    users: Users, application_id: str, database: asyncpg.Connection
) -> None:
    await new_topic(users, application_id)
    ids = await insert_users(database, application_id, 2500)
    for start in range(0, len(ids), 1000):
        assert await subscribe(users, application_id, "news", ids[start : start + 1000]) == len(
            ids[start : start + 1000]
        )
    with_device = ids[7]
    await users.AddDevice(
        pb.AddDeviceRequest(
            user_id=with_device, token="fan-token", platform=pb.PLATFORM_IOS, application_id=application_id
        )
    )
    await users.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            user_id=with_device, preferences=pb.Preferences(email=False, push=True), application_id=application_id
        )
    )
    not_subscribed = await create_user(users, application_id=application_id)

    seen: list[pb.NotificationProfile] = []
    after = ""
    pages = 0
    while True:
        request = pb.ListSubscriberProfilesRequest(key="news", after=after, limit=700, application_id=application_id)
        page = list((await users.ListSubscriberProfiles(request)).profiles)
        pages += 1
        seen += page
        if len(page) < 700:
            break
        after = page[-1].user_id

    assert pages == 4
    assert [profile.user_id for profile in seen] == sorted(ids, key=uuid.UUID)
    assert not_subscribed.id not in {profile.user_id for profile in seen}
    profile = next(profile for profile in seen if profile.user_id == with_device)
    direct = await users.GetNotificationProfile(
        pb.GetNotificationProfileRequest(user_id=with_device, application_id=application_id)
    )
    assert profile == direct.profile
    assert (list(profile.device_tokens), profile.preferences.email) == (["fan-token"], False)


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_a_subscriber_profile_page_holds_one_to_a_thousand(users: Users, application_id: str, limit: int) -> None:
    await new_topic(users, application_id)
    request = pb.ListSubscriberProfilesRequest(key="news", limit=limit, application_id=application_id)
    error = await rpc_error(users.ListSubscriberProfiles(request))
    assert violations(error) == {"limit": "must be between 1 and 1000"}
    bad_after = pb.ListSubscriberProfilesRequest(key="news", after="x", limit=1, application_id=application_id)
    assert violations(await rpc_error(users.ListSubscriberProfiles(bad_after))) == {"after": "must be a UUID"}


async def test_a_purge_removes_the_applications_topics(
    users: Users, application_id: str, database: asyncpg.Connection
) -> None:
    await new_topic(users, application_id)
    kept = str(uuid.uuid4())
    await new_topic(users, kept)
    ids = [(await create_user(users, application_id=application_id)).id for _ in range(2)]
    await subscribe(users, application_id, "news", ids)

    request = pb.PurgeApplicationUsersRequest(application_id=application_id, limit=1)
    while (await users.PurgeApplicationUsers(request)).deleted:
        pass

    assert (
        await database.fetchval("SELECT count(*) FROM topics WHERE application_id = $1", uuid.UUID(application_id)) == 0
    )
    assert (await get_topic(users, kept)).key == "news"
