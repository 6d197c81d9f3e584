"""Bodies of a user's own routes (``/v1/me``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.schemas.notifications import ChannelName, StatusName


class FeedItem(BaseModel):
    """One notification as its recipient sees it in an app's inbox. The content fields are null once the
    content is no longer kept (`NOTIFICATIONS_CONTENT_DAYS` after a final status, or the user's data erased),
    and for a notification skipped before it was rendered for delivery."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "notification_id": "0193a5c2-7e4b-7c1d-9f3a-2b6c8d0e1f20",
                    "channel": "email",
                    "template": "welcome",
                    "status": "delivered",
                    "subject": "Welcome, Ada",
                    "title": None,
                    "body": "Hello Ada, start at https://example.com/start",
                    "created_at": "2026-11-27T10:15:00.123456Z",
                    "updated_at": "2026-11-27T10:15:01.456789Z",
                }
            ]
        }
    )

    notification_id: uuid.UUID
    channel: ChannelName
    template: str
    status: StatusName
    subject: str | None = Field(description="The rendered subject of an email; null for push or once erased.")
    title: str | None = Field(description="The rendered title of a push notification; null for email or once erased.")
    body: str | None = Field(description="The rendered body (an email's plain-text body); null once erased.")
    created_at: datetime
    updated_at: datetime


class FeedPage(BaseModel):
    """One page of the user's notifications, newest first."""

    items: list[FeedItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
