"""Bodies of ``/v1/suppressions``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.email_address import MAX_EMAIL_LENGTH, checked_email
from gateway.schemas.users import EMAIL_FORMAT

SuppressionReason = Literal["hard_bounce", "complaint", "manual"]

EXAMPLE: dict[str, Any] = {
    "address": "ada@example.com",
    "channel": "email",
    "reason": "hard_bounce",
    "notification_id": "0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10",
    "created_at": "2026-12-07T09:30:00Z",
}


class Suppression(BaseModel):
    """An address the application does not email: `hard_bounce` and `manual` block all email to it,
    `complaint` its non-transactional email."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    address: str = Field(description="Lower-cased.")
    channel: Literal["email"]
    reason: SuppressionReason
    notification_id: uuid.UUID | None = Field(description="The notification that bounced or was complained about.")
    created_at: datetime


class SuppressionPage(BaseModel):
    """One page of suppressions, newest first."""

    items: list[Suppression]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SuppressionCreate(BaseModel):
    """An address to stop emailing, by hand."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"address": "ada@example.com", "reason": "manual"}]}
    )

    address: str = Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra=EMAIL_FORMAT)
    reason: Literal["manual"] = Field(description="Only `manual`: bounces and complaints come from mail systems.")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return checked_email(value)
