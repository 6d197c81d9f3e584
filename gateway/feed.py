"""Rendered content as kept in a notification's stored envelope, for a user's own feed and for an operator's
``GET /v1/notifications/{id}/content``: decoded while the content is kept (docs/design.md §3 PostgreSQL,
"Content kept, then erased")."""

from __future__ import annotations

from typing import Any

from common.envelope import EnvelopeError, decode_envelope
from gateway.store import FeedRow


def rendered_content(envelope_bytes: bytes | None) -> dict[str, str | None]:
    """Subject or title, text body and HTML body from a stored envelope; all null when none is kept (erased,
    skipped, not yet rendered) or it cannot be read (the row is what counts)."""
    content: dict[str, str | None] = {"subject": None, "title": None, "body": None, "html_body": None}
    if envelope_bytes is None:
        return content
    try:
        envelope = decode_envelope(envelope_bytes)
    except EnvelopeError:
        return content
    if envelope.WhichOneof("content") == "email":
        email = envelope.email
        return {**content, "subject": email.subject, "body": email.text_body, "html_body": email.html_body or None}
    return {**content, "title": envelope.push.title, "body": envelope.push.body}


def feed_item(row: FeedRow) -> dict[str, Any]:
    """The feed's view of ``row``: subject or title and body from the envelope, all null when none is kept."""
    content = rendered_content(row.envelope)
    del content["html_body"]
    return {
        "notification_id": row.id,
        "channel": row.channel,
        "template": row.template_slug,
        "status": row.status,
        **content,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
