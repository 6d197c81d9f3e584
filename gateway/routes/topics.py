"""``/v1/topics``: topics and their subscribers, through user_svc. Sending to a topic is the send route's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from gateway.auth import Caller
from gateway.convert import subscription_body, topic_body
from gateway.deps import ResourcesDep, requires
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.topics import (
    TOPIC_KEY_PATTERN,
    Added,
    Removed,
    Subscribers,
    SubscriptionPage,
    Topic,
    TopicCreate,
    TopicPage,
)
from gateway.scopes import Scope
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/topics", tags=["topics"])

Key = Annotated[str, Path(max_length=64, pattern=TOPIC_KEY_PATTERN, description="The topic's key.")]
Manager = Annotated[Caller, requires(Scope.TOPICS_MANAGE)]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]
UNKNOWN_USERS = {422: "A field failed validation, or some `user_ids` are no user of the application (each named)."}


@router.post(
    "",
    status_code=201,
    response_model=Topic,
    summary="Create a topic",
    responses=problems(
        *AUTHENTICATED, *WITH_BODY, 409, descriptions={409: "The application has a topic with this key."}
    ),
)
async def create_topic(body: TopicCreate, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """A new topic without subscribers."""
    reply = await resources.backends.users.CreateTopic(
        pb.CreateTopicRequest(application_id=str(caller.application_id), key=body.key, name=body.name),
        timeout=resources.backends.timeout,
    )
    return topic_body(reply.topic)


@router.get("", response_model=TopicPage, summary="List topics", responses=problems(*AUTHENTICATED))
async def list_topics(
    caller: Manager,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The application's topics by key, one page at a time."""
    reply = await resources.backends.users.ListTopics(
        pb.ListTopicsRequest(application_id=str(caller.application_id), page_size=limit, page_token=cursor or ""),
        timeout=resources.backends.timeout,
    )
    return {"items": [topic_body(topic) for topic in reply.topics], "next_cursor": reply.next_page_token or None}


@router.get("/{key}", response_model=Topic, summary="Get a topic", responses=problems(*AUTHENTICATED, 404))
async def get_topic(key: Key, caller: Manager, resources: ResourcesDep) -> dict[str, Any]:
    """One topic with its subscriber count."""
    reply = await resources.backends.users.GetTopic(
        pb.GetTopicRequest(application_id=str(caller.application_id), key=key), timeout=resources.backends.timeout
    )
    return topic_body(reply.topic)


@router.delete("/{key}", status_code=204, summary="Delete a topic", responses=problems(*AUTHENTICATED, 404))
async def delete_topic(key: Key, caller: Manager, resources: ResourcesDep) -> Response:
    """Delete a topic and its subscriptions; the users stay."""
    await resources.backends.users.DeleteTopic(
        pb.DeleteTopicRequest(application_id=str(caller.application_id), key=key), timeout=resources.backends.timeout
    )
    return Response(status_code=204)


@router.post(
    "/{key}/subscribers",
    response_model=Added,
    summary="Subscribe users to a topic",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, descriptions=UNKNOWN_USERS),
)
async def subscribe(key: Key, body: Subscribers, caller: Manager, resources: ResourcesDep) -> dict[str, int]:
    """Subscribe up to 1,000 users; subscribing a subscriber again is harmless. All or nothing: when an id is no
    user of the application, nobody is subscribed."""
    reply = await resources.backends.users.Subscribe(
        pb.SubscribeRequest(
            application_id=str(caller.application_id), key=key, user_ids=[str(user_id) for user_id in body.user_ids]
        ),
        timeout=resources.backends.timeout,
    )
    return {"added": reply.added}


@router.delete(
    "/{key}/subscribers",
    response_model=Removed,
    summary="Unsubscribe users from a topic",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404),
)
async def unsubscribe(key: Key, body: Subscribers, caller: Manager, resources: ResourcesDep) -> dict[str, int]:
    """Unsubscribe up to 1,000 users; ids that are not subscribed are ignored."""
    reply = await resources.backends.users.Unsubscribe(
        pb.UnsubscribeRequest(
            application_id=str(caller.application_id), key=key, user_ids=[str(user_id) for user_id in body.user_ids]
        ),
        timeout=resources.backends.timeout,
    )
    return {"removed": reply.removed}


@router.get(
    "/{key}/subscribers",
    response_model=SubscriptionPage,
    summary="List a topic's subscribers",
    responses=problems(*AUTHENTICATED, 404),
)
async def list_subscribers(
    key: Key,
    caller: Manager,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The topic's subscribers by user id, one page at a time."""
    reply = await resources.backends.users.ListSubscribers(
        pb.ListSubscribersRequest(
            application_id=str(caller.application_id), key=key, page_size=limit, page_token=cursor or ""
        ),
        timeout=resources.backends.timeout,
    )
    return {
        "items": [subscription_body(item) for item in reply.subscriptions],
        "next_cursor": reply.next_page_token or None,
    }
