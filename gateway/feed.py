"""A user's own notifications as their feed shows them: the stored row with the rendered content decoded from
its envelope while the content is kept (docs/design.md §3 PostgreSQL, "Content kept, then erased")."""

from __future__ import annotations

from typing import Any

from common.envelope import EnvelopeError, decode_envelope
from gateway.store import FeedRow


def feed_item(row: FeedRow) -> dict[str, Any]:
    """The feed's view of ``row``: subject or title and body from the envelope, all null when none is kept."""
    content: dict[str, str | None] = {"subject": None, "title": None, "body": None}
    if row.envelope is not None:
        try:
            envelope = decode_envelope(row.envelope)
        except EnvelopeError:  # the row is what counts; a body no worker could read shows without content
            envelope = None
        if envelope is not None and envelope.WhichOneof("content") == "email":
            content = {"subject": envelope.email.subject, "title": None, "body": envelope.email.text_body}
        elif envelope is not None:
            content = {"subject": None, "title": envelope.push.title, "body": envelope.push.body}
    return {
        "notification_id": row.id,
        "channel": row.channel,
        "template": row.template_slug,
        "status": row.status,
        **content,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
