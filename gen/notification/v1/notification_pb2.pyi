import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_PUSH: _ClassVar[Channel]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_ANDROID: _ClassVar[Platform]
    PLATFORM_IOS: _ClassVar[Platform]
    PLATFORM_WEB: _ClassVar[Platform]

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_CREATED: _ClassVar[ChangeKind]
    CHANGE_KIND_UPDATED: _ClassVar[ChangeKind]
    CHANGE_KIND_DELETED: _ClassVar[ChangeKind]
CHANNEL_UNSPECIFIED: Channel
CHANNEL_EMAIL: Channel
CHANNEL_PUSH: Channel
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority
PLATFORM_UNSPECIFIED: Platform
PLATFORM_ANDROID: Platform
PLATFORM_IOS: Platform
PLATFORM_WEB: Platform
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_CREATED: ChangeKind
CHANGE_KIND_UPDATED: ChangeKind
CHANGE_KIND_DELETED: ChangeKind

class QuietHours(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class Preferences(_message.Message):
    __slots__ = ("email", "push", "timezone", "quiet_hours", "categories")
    class CategoriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CategoryChannels
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CategoryChannels, _Mapping]] = ...) -> None: ...
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    email: bool
    push: bool
    timezone: str
    quiet_hours: QuietHours
    categories: _containers.MessageMap[str, CategoryChannels]
    def __init__(self, email: _Optional[bool] = ..., push: _Optional[bool] = ..., timezone: _Optional[str] = ..., quiet_hours: _Optional[_Union[QuietHours, _Mapping]] = ..., categories: _Optional[_Mapping[str, CategoryChannels]] = ...) -> None: ...

class CategoryChannels(_message.Message):
    __slots__ = ("email", "push")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    email: bool
    push: bool
    def __init__(self, email: _Optional[bool] = ..., push: _Optional[bool] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("token", "platform", "created_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    platform: Platform
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., platform: _Optional[_Union[Platform, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "name", "email", "locale", "preferences", "devices", "created_at", "updated_at", "pending_email")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PENDING_EMAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    email: str
    locale: str
    preferences: Preferences
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    pending_email: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ..., preferences: _Optional[_Union[Preferences, _Mapping]] = ..., devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending_email: _Optional[str] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("name", "email", "password", "locale", "preferences", "application_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    password: str
    locale: str
    preferences: Preferences
    application_id: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., locale: _Optional[str] = ..., preferences: _Optional[_Union[Preferences, _Mapping]] = ..., application_id: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "application_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    application_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("user_id", "name", "email", "password", "locale", "current_password", "requested_email", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_EMAIL_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    name: str
    email: str
    password: str
    locale: str
    current_password: str
    requested_email: str
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., locale: _Optional[str] = ..., current_password: _Optional[str] = ..., requested_email: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class UpdateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("user_id", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class DeleteUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdatePreferencesRequest(_message.Message):
    __slots__ = ("user_id", "preferences", "application_id", "update_mask")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    preferences: Preferences
    application_id: str
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, user_id: _Optional[str] = ..., preferences: _Optional[_Union[Preferences, _Mapping]] = ..., application_id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePreferencesResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class AddDeviceRequest(_message.Message):
    __slots__ = ("user_id", "token", "platform", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    token: str
    platform: Platform
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., token: _Optional[str] = ..., platform: _Optional[_Union[Platform, str]] = ..., application_id: _Optional[str] = ...) -> None: ...

class AddDeviceResponse(_message.Message):
    __slots__ = ("device", "created")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    device: Device
    created: bool
    def __init__(self, device: _Optional[_Union[Device, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RemoveDeviceRequest(_message.Message):
    __slots__ = ("user_id", "token", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    token: str
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., token: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class RemoveDeviceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("email", "password", "application_id")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    application_id: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("access_token", "token_type", "expires_in", "user_id")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    token_type: str
    expires_in: int
    user_id: str
    def __init__(self, access_token: _Optional[str] = ..., token_type: _Optional[str] = ..., expires_in: _Optional[int] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetNotificationProfileRequest(_message.Message):
    __slots__ = ("user_id", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class NotificationProfile(_message.Message):
    __slots__ = ("user_id", "email", "name", "locale", "preferences", "device_tokens", "token_version")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_VERSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    name: str
    locale: str
    preferences: Preferences
    device_tokens: _containers.RepeatedScalarFieldContainer[str]
    token_version: int
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., preferences: _Optional[_Union[Preferences, _Mapping]] = ..., device_tokens: _Optional[_Iterable[str]] = ..., token_version: _Optional[int] = ...) -> None: ...

class GetNotificationProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: NotificationProfile
    def __init__(self, profile: _Optional[_Union[NotificationProfile, _Mapping]] = ...) -> None: ...

class PurgeApplicationUsersRequest(_message.Message):
    __slots__ = ("application_id", "limit")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    limit: int
    def __init__(self, application_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class PurgeApplicationUsersResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class GetNotificationProfilesRequest(_message.Message):
    __slots__ = ("user_ids", "application_id")
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    application_id: str
    def __init__(self, user_ids: _Optional[_Iterable[str]] = ..., application_id: _Optional[str] = ...) -> None: ...

class GetNotificationProfilesResponse(_message.Message):
    __slots__ = ("profiles", "missing_user_ids")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    MISSING_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[NotificationProfile]
    missing_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, profiles: _Optional[_Iterable[_Union[NotificationProfile, _Mapping]]] = ..., missing_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Topic(_message.Message):
    __slots__ = ("key", "name", "subscribers", "created_at")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    subscribers: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., subscribers: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTopicRequest(_message.Message):
    __slots__ = ("key", "name", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    application_id: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class CreateTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class GetTopicRequest(_message.Message):
    __slots__ = ("key", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    application_id: str
    def __init__(self, key: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class GetTopicResponse(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: Topic
    def __init__(self, topic: _Optional[_Union[Topic, _Mapping]] = ...) -> None: ...

class ListTopicsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "application_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    application_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListTopicsResponse(_message.Message):
    __slots__ = ("topics", "next_page_token")
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    next_page_token: str
    def __init__(self, topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteTopicRequest(_message.Message):
    __slots__ = ("key", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    application_id: str
    def __init__(self, key: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class DeleteTopicResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("key", "user_ids", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    application_id: str
    def __init__(self, key: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., application_id: _Optional[str] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("added",)
    ADDED_FIELD_NUMBER: _ClassVar[int]
    added: int
    def __init__(self, added: _Optional[int] = ...) -> None: ...

class UnsubscribeRequest(_message.Message):
    __slots__ = ("key", "user_ids", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    application_id: str
    def __init__(self, key: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., application_id: _Optional[str] = ...) -> None: ...

class UnsubscribeResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class ListSubscribersRequest(_message.Message):
    __slots__ = ("key", "page_size", "page_token", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    page_size: int
    page_token: str
    application_id: str
    def __init__(self, key: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("user_id", "subscribed_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    subscribed_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., subscribed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSubscribersResponse(_message.Message):
    __slots__ = ("subscriptions", "next_page_token")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    next_page_token: str
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSubscriberProfilesRequest(_message.Message):
    __slots__ = ("key", "after", "limit", "application_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    after: str
    limit: int
    application_id: str
    def __init__(self, key: _Optional[str] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListSubscriberProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[NotificationProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[NotificationProfile, _Mapping]]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("slug", "channel", "locale", "version", "active_version", "subject", "body", "html_body", "title", "data", "created_at", "updated_at", "from_name", "from_email", "reply_to", "category", "transactional")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONAL_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    version: int
    active_version: int
    subject: str
    body: str
    html_body: str
    title: str
    data: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    from_name: str
    from_email: str
    reply_to: str
    category: str
    transactional: bool
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., version: _Optional[int] = ..., active_version: _Optional[int] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., html_body: _Optional[str] = ..., title: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_name: _Optional[str] = ..., from_email: _Optional[str] = ..., reply_to: _Optional[str] = ..., category: _Optional[str] = ..., transactional: _Optional[bool] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "subject", "body", "html_body", "title", "data", "application_id", "from_name", "from_email", "reply_to", "category")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    subject: str
    body: str
    html_body: str
    title: str
    data: _containers.ScalarMap[str, str]
    application_id: str
    from_name: str
    from_email: str
    reply_to: str
    category: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., html_body: _Optional[str] = ..., title: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., application_id: _Optional[str] = ..., from_name: _Optional[str] = ..., from_email: _Optional[str] = ..., reply_to: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class CreateTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "version", "fallback", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    version: int
    fallback: bool
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., version: _Optional[int] = ..., fallback: _Optional[bool] = ..., application_id: _Optional[str] = ...) -> None: ...

class GetTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("channel", "page_size", "page_token", "application_id")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    page_size: int
    page_token: str
    application_id: str
    def __init__(self, channel: _Optional[_Union[Channel, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "subject", "body", "html_body", "title", "data", "application_id", "from_name", "from_email", "reply_to", "category")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    subject: str
    body: str
    html_body: str
    title: str
    data: _containers.ScalarMap[str, str]
    application_id: str
    from_name: str
    from_email: str
    reply_to: str
    category: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., html_body: _Optional[str] = ..., title: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., application_id: _Optional[str] = ..., from_name: _Optional[str] = ..., from_email: _Optional[str] = ..., reply_to: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class UpdateTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class ListTemplateVersionsRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListTemplateVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, versions: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

class ActivateTemplateVersionRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "version", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    version: int
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., version: _Optional[int] = ..., application_id: _Optional[str] = ...) -> None: ...

class ActivateTemplateVersionResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class DeleteTemplateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RenderUser(_message.Message):
    __slots__ = ("name", "email", "locale")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    locale: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class RenderTemplateRequest(_message.Message):
    __slots__ = ("slug", "channel", "locale", "version", "variables", "user", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    version: int
    variables: _struct_pb2.Struct
    user: RenderUser
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., version: _Optional[int] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., user: _Optional[_Union[RenderUser, _Mapping]] = ..., application_id: _Optional[str] = ...) -> None: ...

class EmailContent(_message.Message):
    __slots__ = ("subject", "text_body", "html_body", "from_name", "from_email", "reply_to")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    subject: str
    text_body: str
    html_body: str
    from_name: str
    from_email: str
    reply_to: str
    def __init__(self, subject: _Optional[str] = ..., text_body: _Optional[str] = ..., html_body: _Optional[str] = ..., from_name: _Optional[str] = ..., from_email: _Optional[str] = ..., reply_to: _Optional[str] = ...) -> None: ...

class PushContent(_message.Message):
    __slots__ = ("title", "body", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    title: str
    body: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, title: _Optional[str] = ..., body: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RenderTemplateResponse(_message.Message):
    __slots__ = ("email", "push", "locale", "version", "category", "transactional")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONAL_FIELD_NUMBER: _ClassVar[int]
    email: EmailContent
    push: PushContent
    locale: str
    version: int
    category: str
    transactional: bool
    def __init__(self, email: _Optional[_Union[EmailContent, _Mapping]] = ..., push: _Optional[_Union[PushContent, _Mapping]] = ..., locale: _Optional[str] = ..., version: _Optional[int] = ..., category: _Optional[str] = ..., transactional: _Optional[bool] = ...) -> None: ...

class EmailRecipient(_message.Message):
    __slots__ = ("address", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class PushRecipient(_message.Message):
    __slots__ = ("device_tokens",)
    DEVICE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    device_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, device_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class TemplateRef(_message.Message):
    __slots__ = ("slug", "version", "locale")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    slug: str
    version: int
    locale: str
    def __init__(self, slug: _Optional[str] = ..., version: _Optional[int] = ..., locale: _Optional[str] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("key", "name", "transactional", "created_at", "updated_at")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONAL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    transactional: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., transactional: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PutCategoryRequest(_message.Message):
    __slots__ = ("application_id", "category")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    category: Category
    def __init__(self, application_id: _Optional[str] = ..., category: _Optional[_Union[Category, _Mapping]] = ...) -> None: ...

class PutCategoryResponse(_message.Message):
    __slots__ = ("category", "created")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    category: Category
    created: bool
    def __init__(self, category: _Optional[_Union[Category, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ("application_id",)
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    def __init__(self, application_id: _Optional[str] = ...) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, _Mapping]]] = ...) -> None: ...

class PurgeApplicationTemplatesRequest(_message.Message):
    __slots__ = ("application_id", "limit")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    limit: int
    def __init__(self, application_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class PurgeApplicationTemplatesResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class MessageEnvelope(_message.Message):
    __slots__ = ("notification_id", "correlation_id", "channel", "priority", "user_id", "email_recipient", "push_recipient", "email", "push", "template", "metadata", "created_at", "expires_at", "attempt", "application_id", "test_mode", "category", "transactional")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PUSH_RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEST_MODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONAL_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    correlation_id: str
    channel: Channel
    priority: Priority
    user_id: str
    email_recipient: EmailRecipient
    push_recipient: PushRecipient
    email: EmailContent
    push: PushContent
    template: TemplateRef
    metadata: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    attempt: int
    application_id: str
    test_mode: bool
    category: str
    transactional: bool
    def __init__(self, notification_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., user_id: _Optional[str] = ..., email_recipient: _Optional[_Union[EmailRecipient, _Mapping]] = ..., push_recipient: _Optional[_Union[PushRecipient, _Mapping]] = ..., email: _Optional[_Union[EmailContent, _Mapping]] = ..., push: _Optional[_Union[PushContent, _Mapping]] = ..., template: _Optional[_Union[TemplateRef, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., application_id: _Optional[str] = ..., test_mode: _Optional[bool] = ..., category: _Optional[str] = ..., transactional: _Optional[bool] = ...) -> None: ...

class UserChanged(_message.Message):
    __slots__ = ("user_id", "kind", "changed_at", "application_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    kind: ChangeKind
    changed_at: _timestamp_pb2.Timestamp
    application_id: str
    def __init__(self, user_id: _Optional[str] = ..., kind: _Optional[_Union[ChangeKind, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ...) -> None: ...

class TemplateChanged(_message.Message):
    __slots__ = ("slug", "channel", "locale", "active_version", "kind", "changed_at", "application_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    channel: Channel
    locale: str
    active_version: int
    kind: ChangeKind
    changed_at: _timestamp_pb2.Timestamp
    application_id: str
    def __init__(self, slug: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., locale: _Optional[str] = ..., active_version: _Optional[int] = ..., kind: _Optional[_Union[ChangeKind, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ...) -> None: ...

class KeyRevoked(_message.Message):
    __slots__ = ("application_id", "key_id", "changed_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    key_id: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., key_id: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApplicationChanged(_message.Message):
    __slots__ = ("application_id", "kind", "changed_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    kind: ChangeKind
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., kind: _Optional[_Union[ChangeKind, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
