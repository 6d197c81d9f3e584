"""Bodies of the topic routes (docs/api.md "Topics"). user_svc checks the same rules (user_svc/validation.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

TOPIC_KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MAX_USER_IDS = 1000

TOPIC_EXAMPLE: dict[str, Any] = {
    "key": "release-notes",
    "name": "Release notes",
    "subscribers": 1250,
    "created_at": "2026-12-07T09:00:00Z",
}

TopicKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=TOPIC_KEY_PATTERN,
        description="Unique in the application: 1-64 characters of `a-z`, `0-9`, `.`, `_` and `-`, starting with a "
        "letter or a digit.",
        examples=["release-notes"],
    ),
]
UserIds = Annotated[
    list[uuid.UUID],
    Field(min_length=1, max_length=MAX_USER_IDS, description=f"1 to {MAX_USER_IDS} user ids; repeats count once."),
]


class TopicCreate(BaseModel):
    """A new topic."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key": "release-notes", "name": "Release notes"}]}
    )

    key: TopicKey
    name: str = Field(min_length=1, max_length=200, description="The display name.")


class Topic(BaseModel):
    """A named audience users subscribe to."""

    model_config = ConfigDict(json_schema_extra={"examples": [TOPIC_EXAMPLE]})

    key: str
    name: str
    subscribers: int = Field(description="How many users are subscribed.")
    created_at: datetime | None


class TopicPage(BaseModel):
    """One page of topics, by key."""

    items: list[Topic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class Subscribers(BaseModel):
    """Users to subscribe or unsubscribe."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_ids": ["0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10"]}]},
    )

    user_ids: UserIds


class Added(BaseModel):
    """The result of a subscribe."""

    added: int = Field(description="How many of the users were not subscribed before.")


class Removed(BaseModel):
    """The result of an unsubscribe."""

    removed: int = Field(description="How many of the users were subscribed.")


class Subscription(BaseModel):
    """One user's subscription to a topic."""

    user_id: uuid.UUID
    subscribed_at: datetime | None


class SubscriptionPage(BaseModel):
    """One page of a topic's subscribers, by user id."""

    items: list[Subscription]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
