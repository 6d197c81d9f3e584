"""``/v1/users``: users, their preferences and devices, through user_svc. A user token reaches only its own."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from gateway.auth import Caller
from gateway.convert import PLATFORM_OF, device_body, preferences_body, preferences_patch, user_body
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.users import (
    MAX_DEVICE_TOKEN_LENGTH,
    ChannelPreferences,
    Device,
    DeviceCreate,
    Preferences,
    PreferencesPatch,
    User,
    UserCreate,
    UserPage,
    UserUpdate,
)
from gateway.scopes import Scope
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/users", tags=["users"])

UserId = Annotated[uuid.UUID, Path(description="The user's id.")]
USER_TOKEN = (*AUTHENTICATED, 429)
"""What a route a user token may call can answer: its own errors and the per-user rate limit."""
NEEDS_CURRENT_PASSWORD = ("email", "password")
MERGE_PATCH = "application/merge-patch+json"


def _changed(resources: Resources, caller: Caller, user_id: uuid.UUID) -> None:
    """This gateway's cached profile of the user is stale now (others learn it from UserChanged)."""
    resources.profiles.evict(str(caller.application_id), str(user_id))


@router.post(
    "",
    status_code=201,
    response_model=User,
    summary="Create a user",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 409, descriptions={409: "The email is taken."}),
)
async def create_user(
    body: UserCreate, caller: Annotated[Caller, requires(Scope.USERS_WRITE)], resources: ResourcesDep
) -> dict[str, Any]:
    """A new user; every channel is on unless `preferences` says otherwise."""
    request = pb.CreateUserRequest(
        application_id=str(caller.application_id),
        name=body.name,
        email=body.email,
        password=body.password,
        locale=body.locale or "",
    )
    if body.preferences is not None:
        request.preferences.CopyFrom(pb.Preferences(email=body.preferences.email, push=body.preferences.push))
    reply = await resources.backends.users.CreateUser(request, timeout=resources.backends.timeout)
    return user_body(reply.user)


@router.get("", response_model=UserPage, summary="List users", responses=problems(*AUTHENTICATED))
async def list_users(
    caller: Annotated[Caller, requires(Scope.USERS_READ)],
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """Users in a stable order, one page at a time."""
    reply = await resources.backends.users.ListUsers(
        pb.ListUsersRequest(application_id=str(caller.application_id), page_size=limit, page_token=cursor or ""),
        timeout=resources.backends.timeout,
    )
    return {"items": [user_body(user) for user in reply.users], "next_cursor": reply.next_page_token or None}


@router.get("/{user_id}", response_model=User, summary="Get a user", responses=problems(*USER_TOKEN, 404))
async def get_user(
    user_id: UserId, caller: Annotated[Caller, requires(Scope.USERS_READ, users=True)], resources: ResourcesDep
) -> dict[str, Any]:
    """One user with preferences and devices."""
    caller.require_user(user_id)
    reply = await resources.backends.users.GetUser(
        pb.GetUserRequest(application_id=str(caller.application_id), user_id=str(user_id)),
        timeout=resources.backends.timeout,
    )
    return user_body(reply.user)


@router.patch(
    "/{user_id}",
    response_model=User,
    summary="Change a user",
    responses=problems(
        *USER_TOKEN,
        *WITH_BODY,
        404,
        409,
        descriptions={
            403: "Another user's token, or `current_password` is wrong.",
            409: "The new email is taken (API keys only: a user token's email change is always accepted as "
            "`pending_email`).",
            422: "A field failed validation, or a user token changes `email` or `password` without `current_password`.",
            429: "Too many requests with this user's token, or too many wrong passwords for this user.",
        },
    ),
)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """Change the fields given; the others stay. A password change signs the user out everywhere: every token
    issued before it answers 401 from then on. With a user token, `email` and `password` need
    `current_password`, and a new `email` is kept as `pending_email` (whether or not the address is taken:
    the answer never tells) until the application sets `email`."""
    caller.require_user(user_id)
    changes = {name: value for name, value in body.model_dump().items() if value is not None}
    if caller.is_application:
        reply = await _update(resources, _update_request(caller, user_id, changes))
    else:
        reply = await _update_own(resources, caller, user_id, changes)
    _changed(resources, caller, user_id)
    return user_body(reply.user)


def _update_request(caller: Caller, user_id: uuid.UUID, changes: dict[str, Any]) -> pb.UpdateUserRequest:
    return pb.UpdateUserRequest(application_id=str(caller.application_id), user_id=str(user_id), **changes)


async def _update(resources: Resources, request: pb.UpdateUserRequest) -> pb.UpdateUserResponse:
    reply: pb.UpdateUserResponse = await resources.backends.users.UpdateUser(
        request, timeout=resources.backends.timeout
    )
    return reply


async def _update_own(
    resources: Resources, caller: Caller, user_id: uuid.UUID, changes: dict[str, Any]
) -> pb.UpdateUserResponse:
    """A user's change to themselves: the current password for email and password (wrong ones counted like
    failed logins, so a stolen token guesses no faster than the login route), the email only requested."""
    if "current_password" not in changes:
        if any(field in changes for field in NEEDS_CURRENT_PASSWORD):
            raise ProblemError.field("current_password", "is required to change email or password with a user token")
        return await _update(resources, _update_request(caller, user_id, changes))
    if "email" in changes:
        changes["requested_email"] = changes.pop("email")
    application_id = str(caller.application_id)
    email = (await resources.profiles.get(application_id, str(user_id))).email
    attempt = await resources.login_throttle.reserve(application_id, email, address=None)
    try:
        reply = await _update(resources, _update_request(caller, user_id, changes))
    except BaseException as error:
        wrong = isinstance(error, grpc.aio.AioRpcError) and error.code() == grpc.StatusCode.PERMISSION_DENIED
        if not wrong:  # only a wrong password keeps the failure it took
            await resources.login_throttle.undecided(attempt)
        raise
    await resources.login_throttle.succeeded(attempt)
    return reply


@router.delete("/{user_id}", status_code=204, summary="Delete a user", responses=problems(*USER_TOKEN, 404))
async def delete_user(
    user_id: UserId, caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)], resources: ResourcesDep
) -> Response:
    """Delete a user with their preferences and devices; their notifications not yet claimed by a worker are
    cancelled, and the personal data of all of them (address, device tokens, content) is erased."""
    caller.require_user(user_id)
    try:
        await resources.backends.users.DeleteUser(
            pb.DeleteUserRequest(application_id=str(caller.application_id), user_id=str(user_id)),
            timeout=resources.backends.timeout,
        )
    except grpc.aio.AioRpcError as error:
        if error.code() is not grpc.StatusCode.NOT_FOUND:
            raise
        # a DELETE repeated after a failed erasure completes it
        await resources.store.erase_user(caller.application_id, user_id)
        raise
    _changed(resources, caller, user_id)
    await resources.store.erase_user(caller.application_id, user_id)
    return Response(status_code=204)


@router.put(
    "/{user_id}/preferences",
    response_model=Preferences,
    summary="Replace a user's channel preferences",
    responses=problems(*USER_TOKEN, *WITH_BODY, 404),
)
async def update_preferences(
    user_id: UserId,
    body: ChannelPreferences,
    caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """Turn channels on or off; the timezone and quiet hours stay (`PATCH` changes them). Answers with every
    preference."""
    caller.require_user(user_id)
    return await _set_preferences(resources, caller, user_id, pb.Preferences(email=body.email, push=body.push), [])


@router.patch(
    "/{user_id}/preferences",
    response_model=Preferences,
    summary="Change some of a user's preferences",
    responses=problems(
        *USER_TOKEN,
        *WITH_BODY,
        404,
        descriptions={422: "A member failed validation: an unknown timezone, a malformed or empty quiet-hours span."},
    ),
)
async def patch_preferences(
    user_id: UserId,
    body: Annotated[PreferencesPatch, Body(media_type=MERGE_PATCH)],
    caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """Change the preferences the body names, as a JSON merge patch (`application/merge-patch+json`, or
    `application/json`): a member left out stays, one set to null goes back to its default. Answers with every
    preference."""
    caller.require_user(user_id)
    wanted, mask = preferences_patch(body)
    if not mask:  # nothing to change: no write, no change event
        reply = await resources.backends.users.GetUser(
            pb.GetUserRequest(application_id=str(caller.application_id), user_id=str(user_id)),
            timeout=resources.backends.timeout,
        )
        return preferences_body(reply.user.preferences)
    return await _set_preferences(resources, caller, user_id, wanted, mask)


async def _set_preferences(
    resources: Resources, caller: Caller, user_id: uuid.UUID, wanted: pb.Preferences, mask: list[str]
) -> dict[str, Any]:
    """Set the preferences ``mask`` names (``email`` and ``push`` when it names none); all of them after."""
    request = pb.UpdatePreferencesRequest(
        application_id=str(caller.application_id), user_id=str(user_id), preferences=wanted
    )
    request.update_mask.paths.extend(mask)
    reply = await resources.backends.users.UpdatePreferences(request, timeout=resources.backends.timeout)
    _changed(resources, caller, user_id)
    return preferences_body(reply.preferences)


@router.post(
    "/{user_id}/devices",
    status_code=201,
    response_model=Device,
    summary="Register a push device",
    responses=problems(*USER_TOKEN, *WITH_BODY, 404),
)
async def add_device(
    user_id: UserId,
    body: DeviceCreate,
    caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)],
    resources: ResourcesDep,
) -> dict[str, Any]:
    """Register an FCM token; registering it again changes nothing. A user keeps at most 20 devices: a 21st
    drops the one registered least recently."""
    caller.require_user(user_id)
    reply = await resources.backends.users.AddDevice(
        pb.AddDeviceRequest(
            application_id=str(caller.application_id),
            user_id=str(user_id),
            token=body.token,
            platform=PLATFORM_OF[body.platform],
        ),
        timeout=resources.backends.timeout,
    )
    _changed(resources, caller, user_id)
    return device_body(reply.device)


@router.delete(
    "/{user_id}/devices/{token}",
    status_code=204,
    summary="Remove a push device",
    responses=problems(*USER_TOKEN, 404),
)
async def remove_device(
    user_id: UserId,
    token: Annotated[str, Path(max_length=MAX_DEVICE_TOKEN_LENGTH, description="The FCM registration token.")],
    caller: Annotated[Caller, requires(Scope.USERS_WRITE, users=True)],
    resources: ResourcesDep,
) -> Response:
    """Remove a push device from the user."""
    caller.require_user(user_id)
    await resources.backends.users.RemoveDevice(
        pb.RemoveDeviceRequest(application_id=str(caller.application_id), user_id=str(user_id), token=token),
        timeout=resources.backends.timeout,
    )
    _changed(resources, caller, user_id)
    return Response(status_code=204)
