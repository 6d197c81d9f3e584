"""``notification.v1.UserService``: validates each request, calls the repository in the request's application
(a user of another application is NOT_FOUND, as if it did not exist), and after every write invalidates the
profile cache and publishes ``UserChanged``. Errors are raised as ``common.grpc.errors``
exceptions; the server's interceptor turns them (and a database that is down) into status codes."""

from __future__ import annotations

import uuid

import grpc
import uuid6
from grpc.aio import ServicerContext

from common.grpc.applications import purge_limit, purged_application_id
from common.grpc.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, ServiceError
from common.ids import parse_uuid
from common.page_tokens import page_size
from common.tokens import issue_token
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from user_svc import messages, pagination, validation
from user_svc.changes import UserChanges
from user_svc.passwords import Passwords
from user_svc.profile_cache import ProfileCache
from user_svc.repository import EmailTaken, NewUser, UserRepository
from user_svc.settings import UserServiceSettings
from user_svc.topics import TopicRepository, UnknownUsers
from user_svc.validation import Checks


class Unauthenticated(ServiceError):
    """Wrong credentials, without saying which part was wrong."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    """The caller proved less than the change needs (the current password was wrong)."""

    code = grpc.StatusCode.PERMISSION_DENIED


def _user_not_found(user_id: uuid.UUID) -> NotFound:
    return NotFound(f"user {user_id} does not exist")


def _email_taken(email: str) -> AlreadyExists:
    return AlreadyExists(f"email {email} is already registered", [FieldViolation("email", "is already registered")])


def _new_user_id() -> uuid.UUID:
    """A UUIDv7: ids sort in creation order, which is the listing order."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


class UserServicer(pb_grpc.UserServiceServicer):
    """The UserService RPCs."""

    def __init__(
        self,
        *,
        settings: UserServiceSettings,
        repository: UserRepository,
        passwords: Passwords,
        cache: ProfileCache,
        changes: UserChanges,
        topics: TopicRepository,
    ) -> None:
        self._repository = repository
        self._topics = topics
        self._passwords = passwords
        self._cache = cache
        self._changes = changes
        self._default_locale = settings.default_locale
        self._jwt_secret = settings.jwt_secret
        self._jwt_expires_in = settings.jwt_expires_seconds

    async def CreateUser(self, request: pb.CreateUserRequest, context: ServicerContext) -> pb.CreateUserResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        name = checks.check("name", validation.name, request.name)
        email = checks.check("email", validation.email, request.email)
        password = checks.check("password", validation.password, request.password)
        locale = checks.check("locale", validation.locale, request.locale) if request.locale else self._default_locale
        checks.done()
        wanted = request.preferences if request.HasField("preferences") else pb.Preferences(email=True, push=True)
        new = NewUser(
            id=_new_user_id(),
            application_id=application_id,
            name=name,
            email=email,
            locale=locale,
            password_hash=await self._passwords.hash(password),
            email_enabled=wanted.email,
            push_enabled=wanted.push,
        )
        try:
            created = await self._repository.create(new)
        except EmailTaken:
            raise _email_taken(email) from None
        await self._changes.changed(application_id, created.id, pb.CHANGE_KIND_CREATED)
        return pb.CreateUserResponse(user=messages.user(created))

    async def GetUser(self, request: pb.GetUserRequest, context: ServicerContext) -> pb.GetUserResponse:
        application_id, user_id = _user_named(request)
        found = await self._repository.get(application_id, user_id)
        if found is None:
            raise _user_not_found(user_id)
        return pb.GetUserResponse(user=messages.user(found))

    async def ListUsers(self, request: pb.ListUsersRequest, context: ServicerContext) -> pb.ListUsersResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        size = checks.check("page_size", page_size, request.page_size)
        after = checks.check("page_token", pagination.decode_page_token, request.page_token)
        checks.done()
        page = await self._repository.list_after(application_id, after, size + 1)
        next_token = pagination.encode_page_token(page[size - 1].id) if len(page) > size else ""
        return pb.ListUsersResponse(users=[messages.user(item) for item in page[:size]], next_page_token=next_token)

    async def UpdateUser(self, request: pb.UpdateUserRequest, context: ServicerContext) -> pb.UpdateUserResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        user_id = checks.check("user_id", validation.user_id, request.user_id)
        changes: dict[str, str] = {}
        for field, check in (("name", validation.name), ("email", validation.email), ("locale", validation.locale)):
            if request.HasField(field):
                changes[field] = checks.check(field, check, getattr(request, field))
        if request.HasField("requested_email"):
            changes["pending_email"] = checks.check("requested_email", validation.email, request.requested_email)
        password = None
        if request.HasField("password"):
            password = checks.check("password", validation.password, request.password)
        checks.done()
        if request.HasField("current_password"):
            await self._check_password(application_id, user_id, request.current_password)
        if password is not None:
            changes["password_hash"] = await self._passwords.hash(password)
        if not changes:
            unchanged = await self._repository.get(application_id, user_id)
            if unchanged is None:
                raise _user_not_found(user_id)
            return pb.UpdateUserResponse(user=messages.user(unchanged))
        try:
            updated = await self._repository.update(
                application_id, user_id, changes, revoke_tokens=password is not None
            )
        except EmailTaken:
            raise _email_taken(changes["email"]) from None
        if updated is None:
            raise _user_not_found(user_id)
        await self._changes.changed(application_id, user_id, pb.CHANGE_KIND_UPDATED)
        return pb.UpdateUserResponse(user=messages.user(updated))

    async def _check_password(self, application_id: uuid.UUID, user_id: uuid.UUID, given: str) -> None:
        """PERMISSION_DENIED unless ``given`` is the user's password; NOT_FOUND for a missing user."""
        password_hash = await self._repository.password_hash(application_id, user_id)
        if password_hash is None:
            raise _user_not_found(user_id)
        if not await self._passwords.verify(password_hash, given):
            raise PermissionDenied(
                "current_password is wrong", [FieldViolation("current_password", "is not the current password")]
            )

    async def DeleteUser(self, request: pb.DeleteUserRequest, context: ServicerContext) -> pb.DeleteUserResponse:
        application_id, user_id = _user_named(request)
        if not await self._repository.delete(application_id, user_id):
            raise _user_not_found(user_id)
        await self._changes.changed(application_id, user_id, pb.CHANGE_KIND_DELETED)
        return pb.DeleteUserResponse()

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context: ServicerContext
    ) -> pb.UpdatePreferencesResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        user_id = checks.check("user_id", validation.user_id, request.user_id)
        changes = validation.preference_changes(checks, request)
        checks.done()
        updated = await self._repository.set_preferences(application_id, user_id, changes)
        if updated is None:
            raise _user_not_found(user_id)
        await self._changes.changed(application_id, user_id, pb.CHANGE_KIND_UPDATED)
        return pb.UpdatePreferencesResponse(preferences=messages.preferences(updated))

    async def AddDevice(self, request: pb.AddDeviceRequest, context: ServicerContext) -> pb.AddDeviceResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        user_id = checks.check("user_id", validation.user_id, request.user_id)
        token = checks.check("token", validation.device_token, request.token)
        platform = checks.check("platform", messages.platform, request.platform)
        checks.done()
        added = await self._repository.add_device(application_id, user_id, token, platform)
        if added is None:
            raise _user_not_found(user_id)
        device, created = added
        await self._changes.changed(application_id, user_id, pb.CHANGE_KIND_UPDATED)
        return pb.AddDeviceResponse(device=messages.device(device), created=created)

    async def RemoveDevice(self, request: pb.RemoveDeviceRequest, context: ServicerContext) -> pb.RemoveDeviceResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        user_id = checks.check("user_id", validation.user_id, request.user_id)
        token = checks.check("token", validation.device_token, request.token)
        checks.done()
        user_exists, removed = await self._repository.remove_device(application_id, user_id, token)
        if not user_exists:
            raise _user_not_found(user_id)
        if not removed:
            raise NotFound(f"user {user_id} has no device with this token")
        await self._changes.changed(application_id, user_id, pb.CHANGE_KIND_UPDATED)
        return pb.RemoveDeviceResponse()

    async def Authenticate(self, request: pb.AuthenticateRequest, context: ServicerContext) -> pb.AuthenticateResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        for field in ("email", "password"):
            if not getattr(request, field):
                checks.fail(field, "must not be empty")
        checks.done()
        email = request.email.strip()
        # An address with NUL cannot be stored, so it is no user's (and PostgreSQL would refuse the lookup).
        credentials = None if "\x00" in email else await self._repository.credentials(application_id, email)
        # Always verify, against a dummy hash when the email is unknown: both failures take the same time.
        matched = await self._passwords.verify(credentials.password_hash if credentials else None, request.password)
        if not matched or credentials is None:
            raise Unauthenticated("wrong email or password")
        return pb.AuthenticateResponse(
            access_token=issue_token(
                str(credentials.user_id),
                self._jwt_secret,
                self._jwt_expires_in,
                version=credentials.token_version,
                application_id=application_id,
            ),
            token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_in=self._jwt_expires_in,
            user_id=str(credentials.user_id),
        )

    async def GetNotificationProfile(
        self, request: pb.GetNotificationProfileRequest, context: ServicerContext
    ) -> pb.GetNotificationProfileResponse:
        application_id, user_id = _user_named(request)

        async def load() -> bytes | None:
            found = await self._repository.profile(application_id, user_id)
            return messages.profile(found).SerializeToString() if found else None

        serialized = await self._cache.get_or_load(application_id, user_id, load)
        if serialized is None:
            raise _user_not_found(user_id)
        return pb.GetNotificationProfileResponse(profile=pb.NotificationProfile.FromString(serialized))

    async def GetNotificationProfiles(
        self, request: pb.GetNotificationProfilesRequest, context: ServicerContext
    ) -> pb.GetNotificationProfilesResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        user_ids = validation.user_ids(checks, "user_ids", request.user_ids)
        checks.done()
        found = await self._repository.profiles(application_id, user_ids)
        present = {record.user_id for record in found}
        return pb.GetNotificationProfilesResponse(
            profiles=[messages.profile(record) for record in found],
            missing_user_ids=[str(user_id) for user_id in user_ids if user_id not in present],
        )

    async def PurgeApplicationUsers(
        self, request: pb.PurgeApplicationUsersRequest, context: ServicerContext
    ) -> pb.PurgeApplicationUsersResponse:
        checks = Checks()
        application_id = checks.check("application_id", purged_application_id, request.application_id)
        limit = checks.check("limit", purge_limit, request.limit)
        checks.done()
        deleted = await self._repository.purge(application_id, limit)
        if len(deleted) < limit:  # the last users are gone (their subscriptions with them): the topics go too
            await self._topics.purge(application_id)
        await self._changes.purged(application_id, deleted)
        return pb.PurgeApplicationUsersResponse(deleted=len(deleted))

    # Topics and subscriptions (docs/design.md §7 "Later and many"): no UserChanged, as no user changes.

    async def CreateTopic(self, request: pb.CreateTopicRequest, context: ServicerContext) -> pb.CreateTopicResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        key = checks.check("key", validation.topic_key, request.key)
        name = checks.check("name", validation.name, request.name)
        checks.done()
        created = await self._topics.create(application_id, key, name)
        if created is None:
            raise AlreadyExists(f"topic {key} already exists", [FieldViolation("key", "is taken")])
        return pb.CreateTopicResponse(topic=messages.topic(created))

    async def GetTopic(self, request: pb.GetTopicRequest, context: ServicerContext) -> pb.GetTopicResponse:
        application_id, key = _topic_named(request)
        found = await self._topics.get(application_id, key)
        if found is None:
            raise _topic_not_found(key)
        return pb.GetTopicResponse(topic=messages.topic(found))

    async def ListTopics(self, request: pb.ListTopicsRequest, context: ServicerContext) -> pb.ListTopicsResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        size = checks.check("page_size", page_size, request.page_size)
        after = checks.check("page_token", pagination.decode_topic_page_token, request.page_token)
        checks.done()
        page = await self._topics.list_after(application_id, after, size + 1)
        next_token = pagination.encode_topic_page_token(page[size - 1].key) if len(page) > size else ""
        return pb.ListTopicsResponse(topics=[messages.topic(item) for item in page[:size]], next_page_token=next_token)

    async def DeleteTopic(self, request: pb.DeleteTopicRequest, context: ServicerContext) -> pb.DeleteTopicResponse:
        application_id, key = _topic_named(request)
        if not await self._topics.delete(application_id, key):
            raise _topic_not_found(key)
        return pb.DeleteTopicResponse()

    async def Subscribe(self, request: pb.SubscribeRequest, context: ServicerContext) -> pb.SubscribeResponse:
        application_id, key, user_ids = _subscribers_named(request)
        try:
            added = await self._topics.subscribe(application_id, key, user_ids)
        except UnknownUsers as error:
            raise _unknown_users(request, error) from None
        if added is None:
            raise _topic_not_found(key)
        return pb.SubscribeResponse(added=added)

    async def Unsubscribe(self, request: pb.UnsubscribeRequest, context: ServicerContext) -> pb.UnsubscribeResponse:
        application_id, key, user_ids = _subscribers_named(request)
        removed = await self._topics.unsubscribe(application_id, key, user_ids)
        if removed is None:
            raise _topic_not_found(key)
        return pb.UnsubscribeResponse(removed=removed)

    async def ListSubscribers(
        self, request: pb.ListSubscribersRequest, context: ServicerContext
    ) -> pb.ListSubscribersResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        key = checks.check("key", validation.topic_key, request.key)
        size = checks.check("page_size", validation.subscriber_page_size, request.page_size)
        after = checks.check("page_token", pagination.decode_page_token, request.page_token)
        checks.done()
        page = await self._topics.subscriptions(application_id, key, after, size + 1)
        if page is None:
            raise _topic_not_found(key)
        next_token = pagination.encode_page_token(page[size - 1].user_id) if len(page) > size else ""
        return pb.ListSubscribersResponse(
            subscriptions=[messages.subscription(item) for item in page[:size]], next_page_token=next_token
        )

    async def ListSubscriberProfiles(
        self, request: pb.ListSubscriberProfilesRequest, context: ServicerContext
    ) -> pb.ListSubscriberProfilesResponse:
        checks = Checks()
        application_id = checks.check("application_id", validation.application_id, request)
        key = checks.check("key", validation.topic_key, request.key)
        after = checks.check("after", validation.after_user_id, request.after)
        limit = checks.check("limit", validation.subscriber_limit, request.limit)
        checks.done()
        page = await self._topics.subscriber_profiles(application_id, key, after, limit)
        if page is None:
            raise _topic_not_found(key)
        return pb.ListSubscriberProfilesResponse(profiles=[messages.profile(item) for item in page])


def _topic_not_found(key: str) -> NotFound:
    return NotFound(f"topic {key} does not exist")


def _unknown_users(request: pb.SubscribeRequest, error: UnknownUsers) -> InvalidArgument:
    """INVALID_ARGUMENT naming each id that is no user of the application by its (first) place in the request."""
    places: dict[uuid.UUID | None, int] = {}
    for index, value in enumerate(request.user_ids):
        places.setdefault(parse_uuid(value), index)
    violations = [
        FieldViolation(f"user_ids.{places[user_id]}", f"{user_id} is no user of the application")
        for user_id in error.user_ids
    ]
    return InvalidArgument(f"no user of the application: {error}", violations)


def _topic_named(request: pb.GetTopicRequest | pb.DeleteTopicRequest) -> tuple[uuid.UUID, str]:
    """The application and the key of a request that names one topic and nothing else."""
    checks = Checks()
    application_id = checks.check("application_id", validation.application_id, request)
    key = checks.check("key", validation.topic_key, request.key)
    checks.done()
    return application_id, key


def _subscribers_named(
    request: pb.SubscribeRequest | pb.UnsubscribeRequest,
) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    """The application, the topic key and the (distinct) user ids of a Subscribe or Unsubscribe."""
    checks = Checks()
    application_id = checks.check("application_id", validation.application_id, request)
    key = checks.check("key", validation.topic_key, request.key)
    user_ids = validation.user_ids(checks, "user_ids", request.user_ids)
    checks.done()
    return application_id, key, user_ids


def _user_named(
    request: pb.GetUserRequest | pb.DeleteUserRequest | pb.GetNotificationProfileRequest,
) -> tuple[uuid.UUID, uuid.UUID]:
    """The application and the user id of a request that names one user and nothing else."""
    checks = Checks()
    application_id = checks.check("application_id", validation.application_id, request)
    user_id = checks.check("user_id", validation.user_id, request.user_id)
    checks.done()
    return application_id, user_id
