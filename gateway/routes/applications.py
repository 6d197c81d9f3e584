"""``/v1/applications``: the operator's key manages applications and their API keys (docs/api.md
"Applications and keys", docs/design.md §7 Applications). Any other credential is 403."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from common.applications import DEFAULT_APPLICATION_ID
from gateway.deps import AdminDep, ResourcesDep
from gateway.errors import ProblemError
from gateway.resources import Resources
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.routes.notifications import decode_cursor, encode_cursor
from gateway.schemas.applications import (
    ApiKeyList,
    Application,
    ApplicationCreate,
    ApplicationPage,
    ApplicationUpdate,
    KeyCreate,
    KeyCreated,
)
from gateway.scopes import Scope
from gateway.tenancy.key_store import UNCHANGED
from gateway.tenancy.keys import generate_key
from gateway.tenancy.records import KeyMode

router = APIRouter(prefix="/v1/applications", tags=["applications"])

ApplicationId = Annotated[uuid.UUID, Path(description="The application's id.")]
KeyId = Annotated[str, Path(max_length=64, description="The key's id (`id` of the key).")]
ADMIN = problems(*AUTHENTICATED, 404, descriptions={403: "Only the operator's key (GATEWAY_ADMIN_API_KEY) may."})
ADMIN_WITH_BODY = problems(
    *AUTHENTICATED, *WITH_BODY, 404, descriptions={403: "Only the operator's key (GATEWAY_ADMIN_API_KEY) may."}
)


def _not_found() -> ProblemError:
    return ProblemError(404, "no such application")


async def _application(resources: Resources, application_id: uuid.UUID) -> dict[str, Any]:
    found = await resources.applications.application(application_id)
    if found is None:
        raise _not_found()
    return dataclasses.asdict(found)


@router.post(
    "",
    status_code=201,
    response_model=Application,
    summary="Create an application",
    responses=problems(*AUTHENTICATED, *WITH_BODY),
)
async def create_application(body: ApplicationCreate, _: AdminDep, resources: ResourcesDep) -> dict[str, Any]:
    """A new application, with no keys yet."""
    created = await resources.applications.create_application(body.name, body.rate_limit_per_minute)
    return dataclasses.asdict(created)


@router.get("", response_model=ApplicationPage, summary="List applications", responses=problems(*AUTHENTICATED))
async def list_applications(
    _: AdminDep,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """The enabled applications, oldest first, one page at a time."""
    after = decode_cursor(cursor) if cursor else None
    found = await resources.applications.applications(after, limit + 1)
    page = found[:limit]
    return {
        "items": [dataclasses.asdict(application) for application in page],
        "next_cursor": encode_cursor(page[-1].id) if len(found) > limit else None,
    }


@router.get("/{application_id}", response_model=Application, summary="Get an application", responses=ADMIN)
async def get_application(application_id: ApplicationId, _: AdminDep, resources: ResourcesDep) -> dict[str, Any]:
    """One enabled application; a disabled one is 404."""
    return await _application(resources, application_id)


@router.patch(
    "/{application_id}", response_model=Application, summary="Change an application", responses=ADMIN_WITH_BODY
)
async def update_application(
    application_id: ApplicationId, body: ApplicationUpdate, _: AdminDep, resources: ResourcesDep
) -> dict[str, Any]:
    """Rename it or change its send limit; every gateway replica uses the new limit within seconds."""
    given = body.model_fields_set
    updated = await resources.applications.update_application(
        application_id,
        name=body.name if body.name is not None else UNCHANGED,
        rate_limit_per_minute=body.rate_limit_per_minute if "rate_limit_per_minute" in given else UNCHANGED,
    )
    if updated is None:
        raise _not_found()
    await resources.credential_changes.application_changed(application_id)
    return dataclasses.asdict(updated)


@router.delete(
    "/{application_id}",
    status_code=204,
    summary="Delete an application",
    responses=problems(*AUTHENTICATED, 404, 409, descriptions={409: "The `default` application cannot be deleted."}),
)
async def delete_application(application_id: ApplicationId, _: AdminDep, resources: ResourcesDep) -> Response:
    """Disable it at once (its keys answer 401, its ids 404) and purge its data in the background."""
    if application_id == DEFAULT_APPLICATION_ID:
        raise ProblemError(409, "the default application cannot be deleted")
    if not await resources.applications.disable_application(application_id):
        raise _not_found()
    await resources.credential_changes.application_changed(application_id, deleted=True)
    return Response(status_code=204)


@router.post(
    "/{application_id}/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Create an API key",
    responses=ADMIN_WITH_BODY,
)
async def create_key(
    application_id: ApplicationId, body: KeyCreate, _: AdminDep, resources: ResourcesDep
) -> dict[str, Any]:
    """A new key with the scopes given. Its `key` is in this response only: store it now."""
    await _application(resources, application_id)
    new_key = generate_key()
    created = await resources.applications.create_key(
        application_id, body.name, [Scope(name) for name in body.scopes], KeyMode(body.mode), new_key
    )
    return {**dataclasses.asdict(created), "key": new_key.key}


@router.get("/{application_id}/keys", response_model=ApiKeyList, summary="List API keys", responses=ADMIN)
async def list_keys(application_id: ApplicationId, _: AdminDep, resources: ResourcesDep) -> dict[str, Any]:
    """Every key of the application, revoked ones marked by `revoked_at`; never a secret."""
    await _application(resources, application_id)
    return {"items": [dataclasses.asdict(key) for key in await resources.applications.keys(application_id)]}


@router.delete("/{application_id}/keys/{key_id}", status_code=204, summary="Revoke an API key", responses=ADMIN)
async def revoke_key(application_id: ApplicationId, key_id: KeyId, _: AdminDep, resources: ResourcesDep) -> Response:
    """Revoke the key: every gateway replica refuses it within 2 s (30 s at most while the broker is down).
    Revoking a revoked key again is harmless."""
    await _application(resources, application_id)
    if not await resources.applications.revoke_key(application_id, key_id):
        raise ProblemError(404, "no such key in this application")
    await resources.credential_changes.key_revoked(application_id, key_id)
    return Response(status_code=204)
