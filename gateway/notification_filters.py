"""The filters of ``GET /v1/notifications`` as one SQL ``WHERE`` (docs/api.md §5, docs/design.md §7 "Listing filters").

Every filter is confined to the caller's application. Creation times become bounds on the UUIDv7 id, so the
``(application_id, id)`` index serves them; that section says which other filter has an index and why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.ids import first_id_at

METADATA_PREFIX = "metadata."
MAX_METADATA_FILTERS = 3
"""At most this many ``metadata.<key>`` parameters in one request."""


@dataclass(frozen=True, slots=True)
class NotificationFilters:
    """What a listing asks for besides its application; None (or empty) means no filter."""

    user_id: uuid.UUID | None = None
    status: str | None = None
    channel: str | None = None
    template: str | None = None
    request_id: str | None = None
    batch_id: uuid.UUID | None = None
    broadcast_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def where(self, application_id: uuid.UUID, before: uuid.UUID | None) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (constant SQL with ``$n`` placeholders) and its arguments, continuing before
        the id ``before`` when given."""
        conditions = ["application_id = $1"]
        arguments: list[Any] = [application_id]

        def add(condition: str, value: Any) -> None:
            arguments.append(value)
            conditions.append(condition.format(f"${len(arguments)}"))

        for condition, value in (
            ("user_id = {}", self.user_id),
            ("status = {}", self.status),
            ("channel = {}", self.channel),
            ("template_slug = {}", self.template),
            ("request_id = {}", self.request_id),
            ("batch_id = {}", self.batch_id),
            ("broadcast_id = {}", self.broadcast_id),
            ("id >= {}", first_id_at(self.created_after) if self.created_after else None),
            ("id < {}", first_id_at(self.created_before) if self.created_before else None),
            ("id < {}", before),
            ("updated_at > {}", self.updated_after),
            ("metadata @> {}::jsonb", self.metadata or None),
        ):
            if value is not None:
                add(condition, value)
        return " AND ".join(conditions), arguments
