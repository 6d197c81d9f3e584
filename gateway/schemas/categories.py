"""Bodies of the category routes (docs/api.md "Categories"). template_svc checks the same rules
(template_svc/validation.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CATEGORY_KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
TRANSACTIONAL = "transactional"
"""The category every application has: never skipped for an opt-out, never carries an unsubscribe link."""

CATEGORY_EXAMPLE: dict[str, Any] = {
    "key": "newsletter",
    "name": "Monthly newsletter",
    "transactional": False,
    "created_at": "2026-12-07T09:00:00Z",
    "updated_at": "2026-12-07T09:00:00Z",
}


class CategoryWrite(BaseModel):
    """A category as it should be."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Monthly newsletter", "transactional": False}]}
    )

    name: str = Field(min_length=1, max_length=200, description="A name to show users.")
    transactional: bool = Field(
        default=False,
        description="True: users cannot opt out of it and its email carries no unsubscribe link.",
    )


class Category(BaseModel):
    """A kind of notification that users can opt out of per channel, unless it is transactional."""

    model_config = ConfigDict(json_schema_extra={"examples": [CATEGORY_EXAMPLE]})

    key: str
    name: str
    transactional: bool
    created_at: datetime | None = Field(description="Null for the built-in `transactional`.")
    updated_at: datetime | None = Field(description="Null for the built-in `transactional`.")


class CategoryList(BaseModel):
    """Every category of the application by key, `transactional` among them."""

    items: list[Category]
    next_cursor: str | None = Field(
        default=None, description="Always null: every category is on the one page (the list shape of the API)."
    )
