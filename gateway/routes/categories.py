"""``/v1/categories``: the kinds of notification an application sends, kept by template_svc next to the
templates that name them (docs/api.md "Categories")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from gateway.auth import Caller
from gateway.convert import timestamp
from gateway.deps import ResourcesDep, requires
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.categories import CATEGORY_KEY_PATTERN, Category, CategoryList, CategoryWrite
from gateway.scopes import Scope
from notification.v1 import notification_pb2 as pb

router = APIRouter(prefix="/v1/categories", tags=["categories"])

Key = Annotated[
    str, Path(max_length=64, pattern=CATEGORY_KEY_PATTERN, description="The category's key; not `transactional`.")
]


def category_body(category: pb.Category) -> dict[str, Any]:
    return {
        "key": category.key,
        "name": category.name,
        "transactional": category.transactional,
        "created_at": timestamp(category.created_at),
        "updated_at": timestamp(category.updated_at),
    }


@router.put(
    "/{key}",
    response_model=Category,
    summary="Create or replace a category",
    responses=problems(
        *AUTHENTICATED, *WITH_BODY, descriptions={422: "A field is wrong, or the key is `transactional`."}
    ),
)
async def put_category(
    key: Key, body: CategoryWrite, caller: Annotated[Caller, requires(Scope.TEMPLATES_WRITE)], resources: ResourcesDep
) -> dict[str, Any]:
    """Create the category or replace its name and `transactional` flag (200 either way). The templates of a category
    follow its flag from their next send (this gateway at once, other replicas within the template cache's
    lifetime)."""
    try:
        reply = await resources.backends.templates.PutCategory(
            pb.PutCategoryRequest(
                application_id=str(caller.application_id),
                category=pb.Category(key=key, name=body.name, transactional=body.transactional),
            ),
            timeout=resources.backends.timeout,
        )
    finally:
        resources.templates.clear()  # cached versions carry their category's flag
    return category_body(reply.category)


@router.get("", response_model=CategoryList, summary="List categories", responses=problems(*AUTHENTICATED))
async def list_categories(
    caller: Annotated[Caller, requires(Scope.TEMPLATES_READ)], resources: ResourcesDep
) -> dict[str, Any]:
    """Every category of the application by key, the built-in `transactional` among them."""
    reply = await resources.backends.templates.ListCategories(
        pb.ListCategoriesRequest(application_id=str(caller.application_id)), timeout=resources.backends.timeout
    )
    return {"items": [category_body(category) for category in reply.categories], "next_cursor": None}
