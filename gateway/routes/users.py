"""``/v1/users``: users, their preferences and devices, through user_svc. A user token reaches only its own."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from gateway.convert import PLATFORM_OF, device_body, preferences_body, user_body
from gateway.deps import ApplicationDep, CallerDep, ResourcesDep
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.users import Device, DeviceCreate, Preferences, User, UserCreate, UserPage, UserUpdate
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/users", tags=["users"])

UserId = Annotated[uuid.UUID, Path(description="The user's id.")]


def _changed(resources: Resources, user_id: uuid.UUID) -> None:
    """This gateway's cached profile of the user is stale now (others learn it from UserChanged)."""
    resources.profiles.evict(str(user_id))


@router.post(
    "",
    status_code=201,
    response_model=User,
    summary="Create a user",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 409, descriptions={409: "The email is taken."}),
)
async def create_user(body: UserCreate, caller: ApplicationDep, resources: ResourcesDep) -> dict[str, Any]:
    """A new user; every channel is on unless `preferences` says otherwise."""
    request = pb.CreateUserRequest(name=body.name, email=body.email, password=body.password, locale=body.locale or "")
    if body.preferences is not None:
        request.preferences.CopyFrom(pb.Preferences(email=body.preferences.email, push=body.preferences.push))
    reply = await resources.backends.users.CreateUser(request, timeout=resources.backends.timeout)
    return user_body(reply.user)


@router.get("", response_model=UserPage, summary="List users", responses=problems(*AUTHENTICATED))
async def list_users(
    caller: ApplicationDep,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """Users in a stable order, one page at a time."""
    reply = await resources.backends.users.ListUsers(
        pb.ListUsersRequest(page_size=limit, page_token=cursor or ""), timeout=resources.backends.timeout
    )
    return {"items": [user_body(user) for user in reply.users], "next_cursor": reply.next_page_token or None}


@router.get("/{user_id}", response_model=User, summary="Get a user", responses=problems(*AUTHENTICATED, 404))
async def get_user(user_id: UserId, caller: CallerDep, resources: ResourcesDep) -> dict[str, Any]:
    """One user with preferences and devices."""
    caller.require_user(user_id)
    reply = await resources.backends.users.GetUser(
        pb.GetUserRequest(user_id=str(user_id)), timeout=resources.backends.timeout
    )
    return user_body(reply.user)


@router.patch(
    "/{user_id}",
    response_model=User,
    summary="Change a user",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409, descriptions={409: "The new email is taken."}),
)
async def update_user(user_id: UserId, body: UserUpdate, caller: CallerDep, resources: ResourcesDep) -> dict[str, Any]:
    """Change the fields given; the others stay."""
    caller.require_user(user_id)
    changes = {name: value for name, value in body.model_dump().items() if value is not None}
    reply = await resources.backends.users.UpdateUser(
        pb.UpdateUserRequest(user_id=str(user_id), **changes), timeout=resources.backends.timeout
    )
    _changed(resources, user_id)
    return user_body(reply.user)


@router.delete("/{user_id}", status_code=204, summary="Delete a user", responses=problems(*AUTHENTICATED, 404))
async def delete_user(user_id: UserId, caller: CallerDep, resources: ResourcesDep) -> Response:
    """Delete a user with their preferences and devices."""
    caller.require_user(user_id)
    await resources.backends.users.DeleteUser(
        pb.DeleteUserRequest(user_id=str(user_id)), timeout=resources.backends.timeout
    )
    _changed(resources, user_id)
    return Response(status_code=204)


@router.put(
    "/{user_id}/preferences",
    response_model=Preferences,
    summary="Replace a user's channel preferences",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404),
)
async def update_preferences(
    user_id: UserId, body: Preferences, caller: CallerDep, resources: ResourcesDep
) -> dict[str, bool]:
    """Turn channels on or off."""
    caller.require_user(user_id)
    reply = await resources.backends.users.UpdatePreferences(
        pb.UpdatePreferencesRequest(user_id=str(user_id), preferences=pb.Preferences(email=body.email, push=body.push)),
        timeout=resources.backends.timeout,
    )
    _changed(resources, user_id)
    return preferences_body(reply.preferences)


@router.post(
    "/{user_id}/devices",
    status_code=201,
    response_model=Device,
    summary="Register a push device",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404),
)
async def add_device(user_id: UserId, body: DeviceCreate, caller: CallerDep, resources: ResourcesDep) -> dict[str, Any]:
    """Register an FCM token; registering it again changes nothing."""
    caller.require_user(user_id)
    reply = await resources.backends.users.AddDevice(
        pb.AddDeviceRequest(user_id=str(user_id), token=body.token, platform=PLATFORM_OF[body.platform]),
        timeout=resources.backends.timeout,
    )
    _changed(resources, user_id)
    return device_body(reply.device)


@router.delete(
    "/{user_id}/devices/{token}",
    status_code=204,
    summary="Remove a push device",
    responses=problems(*AUTHENTICATED, 404),
)
async def remove_device(
    user_id: UserId,
    token: Annotated[str, Path(max_length=4096, description="The FCM registration token.")],
    caller: CallerDep,
    resources: ResourcesDep,
) -> Response:
    """Remove a push device from the user."""
    caller.require_user(user_id)
    await resources.backends.users.RemoveDevice(
        pb.RemoveDeviceRequest(user_id=str(user_id), token=token), timeout=resources.backends.timeout
    )
    _changed(resources, user_id)
    return Response(status_code=204)
