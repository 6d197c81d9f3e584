"""The queries of topics and their subscriptions. Every query names the application: another application's
topic is not found, and only users of the topic's application can be subscribed (docs/design.md §7)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import BindParameter

from user_svc.repository import PROFILES, Profile, profile_of
from user_svc.tables import topic_subscriptions, topics, users

FIRST = uuid.UUID(int=0)
"""Below every user id (ids are UUIDv7): the ``after`` of a first page."""


class UnknownUsers(Exception):
    """Some ids are no user of the application; nothing was subscribed."""

    def __init__(self, user_ids: Sequence[uuid.UUID]) -> None:
        super().__init__(", ".join(str(user_id) for user_id in user_ids))
        self.user_ids = tuple(user_ids)


@dataclass(frozen=True)
class Topic:
    """A topic with how many users are subscribed to it."""

    key: str
    name: str
    subscribers: int
    created_at: datetime


@dataclass(frozen=True)
class Subscription:
    """One user's subscription to a topic."""

    user_id: uuid.UUID
    subscribed_at: datetime


_APPLICATION_ID: BindParameter[uuid.UUID] = bindparam("the_application_id", type_=topics.c.application_id.type)
_KEY: BindParameter[str] = bindparam("the_key", type_=topics.c.key.type)
_THE_TOPIC = (topics.c.application_id == _APPLICATION_ID) & (topics.c.key == _KEY)
_TOPIC_ID = select(topics.c.id).where(_THE_TOPIC).scalar_subquery()
_OF_THE_TOPIC = topic_subscriptions.c.topic_id == _TOPIC_ID
_AFTER = topic_subscriptions.c.user_id > bindparam("after", type_=topic_subscriptions.c.user_id.type)

_SUBSCRIBERS = (
    select(func.count())
    .select_from(topic_subscriptions)
    .where(topic_subscriptions.c.topic_id == topics.c.id)
    .scalar_subquery()
    .label("subscribers")
)
_TOPICS = select(topics.c.key, topics.c.name, topics.c.created_at, _SUBSCRIBERS)
_GET_TOPIC = _TOPICS.where(_THE_TOPIC)
_FIRST_TOPICS = (
    _TOPICS.where(topics.c.application_id == _APPLICATION_ID).order_by(topics.c.key).limit(bindparam("limit"))
)
_NEXT_TOPICS = _FIRST_TOPICS.where(topics.c.key > bindparam("after_key"))
_TOPIC_EXISTS = select(topics.c.id).where(_THE_TOPIC)
_INSERT_TOPIC = (
    pg_insert(topics)
    .on_conflict_do_nothing(index_elements=[topics.c.application_id, topics.c.key])
    .returning(topics.c.created_at)
)
_DELETE_TOPIC = delete(topics).where(_THE_TOPIC).returning(topics.c.id)
_PURGE_TOPICS = delete(topics).where(topics.c.application_id == _APPLICATION_ID)

# Subscribing locks the topic and the users against deletion (FOR KEY SHARE) until the rows are in.
_LOCK_TOPIC = _TOPIC_EXISTS.with_for_update(key_share=True, read=True)
_LOCK_USERS = (
    select(users.c.id)
    .where(users.c.application_id == _APPLICATION_ID, users.c.id.in_(bindparam("user_ids", expanding=True)))
    .with_for_update(key_share=True, read=True)
)
_SUBSCRIBE = pg_insert(topic_subscriptions).on_conflict_do_nothing().returning(topic_subscriptions.c.user_id)
_UNSUBSCRIBE = (
    delete(topic_subscriptions)
    .where(_OF_THE_TOPIC, topic_subscriptions.c.user_id.in_(bindparam("user_ids", expanding=True)))
    .returning(topic_subscriptions.c.user_id)
)
_SUBSCRIPTIONS = (
    select(topic_subscriptions.c.user_id, topic_subscriptions.c.created_at)
    .where(_OF_THE_TOPIC, _AFTER)
    .order_by(topic_subscriptions.c.user_id)
    .limit(bindparam("limit"))
)
_SUBSCRIBER_PROFILES = (
    PROFILES.join(topic_subscriptions, topic_subscriptions.c.user_id == users.c.id)
    .where(_OF_THE_TOPIC, _AFTER, users.c.application_id == _APPLICATION_ID)
    .order_by(topic_subscriptions.c.user_id)
    .limit(bindparam("limit"))
)


def _named(application_id: uuid.UUID, key: str) -> dict[str, Any]:
    """The bound parameters of :data:`_THE_TOPIC`."""
    return {"the_application_id": application_id, "the_key": key}


def _topic(row: Any) -> Topic:
    return Topic(key=row.key, name=row.name, subscribers=row.subscribers, created_at=row.created_at)


class TopicRepository:
    """Reads and writes topics and subscriptions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def create(self, application_id: uuid.UUID, key: str, name: str) -> Topic | None:
        """The new topic, or None when the application has a topic with this key."""
        values = {"application_id": application_id, "key": key, "name": name}
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_INSERT_TOPIC, values)).first()
        return Topic(key=key, name=name, subscribers=0, created_at=row.created_at) if row else None

    async def get(self, application_id: uuid.UUID, key: str) -> Topic | None:
        """The application's topic with its subscriber count, or None."""
        async with self._autocommit.connect() as connection:
            row = (await connection.execute(_GET_TOPIC, _named(application_id, key))).first()
        return _topic(row) if row else None

    async def list_after(self, application_id: uuid.UUID, after: str | None, limit: int) -> list[Topic]:
        """Up to ``limit`` of the application's topics in key order, after the key ``after`` when given."""
        parameters: dict[str, Any] = {"the_application_id": application_id, "limit": limit}
        async with self._autocommit.connect() as connection:
            if after is None:
                rows = await connection.execute(_FIRST_TOPICS, parameters)
            else:
                rows = await connection.execute(_NEXT_TOPICS, {**parameters, "after_key": after})
            return [_topic(row) for row in rows]

    async def delete(self, application_id: uuid.UUID, key: str) -> bool:
        """Delete the topic and its subscriptions (cascade); False when missing."""
        async with self._autocommit.connect() as connection:
            return (await connection.execute(_DELETE_TOPIC, _named(application_id, key))).first() is not None

    async def purge(self, application_id: uuid.UUID) -> None:
        """Delete every topic of the application (a disabled one being purged)."""
        async with self._autocommit.connect() as connection:
            await connection.execute(_PURGE_TOPICS, {"the_application_id": application_id})

    async def subscribe(self, application_id: uuid.UUID, key: str, user_ids: Sequence[uuid.UUID]) -> int | None:
        """Subscribe the users; how many were not subscribed before, or None when the topic is missing.
        :class:`UnknownUsers` (and nothing subscribed) when some ids are no user of the application."""
        async with self._engine.begin() as connection:
            topic_id = (await connection.execute(_LOCK_TOPIC, _named(application_id, key))).scalar()
            if topic_id is None:
                return None
            parameters = {"the_application_id": application_id, "user_ids": list(user_ids)}
            found = set((await connection.execute(_LOCK_USERS, parameters)).scalars())
            missing = [user_id for user_id in user_ids if user_id not in found]
            if missing:
                raise UnknownUsers(missing)
            rows = [{"application_id": application_id, "topic_id": topic_id, "user_id": user_id} for user_id in found]
            return len((await connection.execute(_SUBSCRIBE.values(rows))).all())

    async def unsubscribe(self, application_id: uuid.UUID, key: str, user_ids: Sequence[uuid.UUID]) -> int | None:
        """Unsubscribe the users; how many were subscribed, or None when the topic is missing."""
        parameters = {**_named(application_id, key), "user_ids": list(user_ids)}
        async with self._autocommit.connect() as connection:
            removed = len((await connection.execute(_UNSUBSCRIBE, parameters)).all())
            if removed == 0 and not await self._exists(connection, application_id, key):
                return None
        return removed

    async def subscriptions(
        self, application_id: uuid.UUID, key: str, after: uuid.UUID | None, limit: int
    ) -> list[Subscription] | None:
        """Up to ``limit`` of the topic's subscriptions in user id order, after ``after`` when given; None when
        the topic is missing."""
        async with self._autocommit.connect() as connection:
            rows = await self._page(connection, _SUBSCRIPTIONS, application_id, key, after, limit)
        return None if rows is None else [Subscription(row.user_id, row.created_at) for row in rows]

    async def subscriber_profiles(
        self, application_id: uuid.UUID, key: str, after: uuid.UUID | None, limit: int
    ) -> list[Profile] | None:
        """The profiles of up to ``limit`` of the topic's subscribers in user id order, after ``after`` when
        given, in one query (a second only on an empty page, to tell a missing topic); None when it is missing."""
        async with self._autocommit.connect() as connection:
            rows = await self._page(connection, _SUBSCRIBER_PROFILES, application_id, key, after, limit)
        return None if rows is None else [profile_of(row) for row in rows]

    async def _page(
        self,
        connection: AsyncConnection,
        query: Any,
        application_id: uuid.UUID,
        key: str,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Any] | None:
        """The rows of a page of the topic's subscribers; None when the topic is missing."""
        parameters = {**_named(application_id, key), "after": after or FIRST, "limit": limit}
        rows = (await connection.execute(query, parameters)).all()
        if not rows and not await self._exists(connection, application_id, key):
            return None
        return rows

    @staticmethod
    async def _exists(connection: AsyncConnection, application_id: uuid.UUID, key: str) -> bool:
        return (await connection.execute(_TOPIC_EXISTS, _named(application_id, key))).first() is not None
