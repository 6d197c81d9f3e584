"""The webhook outbox as every writer of a notification's status writes it (docs/design.md §7 "Events out").

A status change and its ``notification.<status>`` event are one statement: the writer's ``WITH`` gets

- ``changed``: its INSERT or UPDATE of ``notification_statuses AS s`` ``RETURNING`` :data:`CHANGED_COLUMNS`
  (the row as it is after the change),
- ``logged``: its INSERT into ``notification_events`` ``RETURNING`` :data:`LOGGED_COLUMNS`,
- :data:`NOTIFICATION_OUTBOX`, pasted as the next CTE,

so the event lands in ``webhook_outbox`` in the change's own transaction (a change that rolls back leaves no
event; a committed one always has it), and only when an enabled endpoint of the row's application subscribes
to that event type: without one, a writer pays one probe of the partial index on enabled endpoints.

The event's ``data`` is the notification exactly as ``GET /v1/notifications/{id}`` (``gateway.store.status_body``)
answers it after the change, plus ``"event": {"status", "attempt", "detail", "sequence"}``; ``sequence`` is the
id of the ``notification_events`` row, so it grows per notification.
"""

from __future__ import annotations

CHANGED_COLUMNS = (
    "s.id, s.application_id, s.user_id, s.channel, s.template_slug, s.template_version, s.template_locale, "
    "s.priority, s.status, s.reason, s.attempts, s.last_error, s.metadata, s.expires_at, s.created_at, "
    "s.updated_at, s.delivered_at, s.batch_id, s.send_at, s.broadcast_id"
)
"""What the ``changed`` CTE returns: the columns of the snapshot (``notification_statuses`` aliased ``s``)."""

LOGGED_COLUMNS = "id, notification_id, status, attempt, detail"
"""What the ``logged`` CTE (the INSERT into ``notification_events``) returns."""


def _api_time(column: str) -> str:
    """SQL: the timestamptz expression ``column`` as the REST API renders it (pydantic: UTC with ``Z``, the
    microseconds only when there are some), so a snapshot's times compare equal to the API's as text."""
    return f"""replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z')"""


_SNAPSHOT = f"""jsonb_build_object(
        'notification_id', c.id, 'user_id', c.user_id, 'channel', c.channel, 'template', c.template_slug,
        'template_version', c.template_version, 'locale', c.template_locale, 'priority', c.priority,
        'status', c.status, 'reason', c.reason, 'attempts', c.attempts, 'last_error', c.last_error,
        'metadata', c.metadata, 'expires_at', {_api_time("c.expires_at")},
        'created_at', {_api_time("c.created_at")}, 'updated_at', {_api_time("c.updated_at")},
        'delivered_at', {_api_time("c.delivered_at")}, 'batch_id', c.batch_id, 'send_at', {_api_time("c.send_at")},
        'broadcast_id', c.broadcast_id,
        'event', jsonb_build_object('status', g.status, 'attempt', g.attempt, 'detail', g.detail, 'sequence', g.id)
    )"""
"""The notification as the REST API shows it (``c``: a ``changed`` row), with the event (``g``: its ``logged``
row)."""

NOTIFICATION_OUTBOX = f"""outbox AS (
    INSERT INTO webhook_outbox (application_id, event_type, notification_id, data)
    SELECT c.application_id, 'notification.' || g.status, c.id, {_SNAPSHOT}
    FROM logged AS g JOIN changed AS c ON c.id = g.notification_id
    WHERE EXISTS (
        SELECT 1 FROM webhook_endpoints AS w
        WHERE w.enabled AND w.application_id IN (SELECT changed.application_id FROM changed)
    ) AND EXISTS (
        SELECT 1 FROM webhook_endpoints AS w
        WHERE w.application_id = c.application_id AND w.enabled
          AND (w.events @> ARRAY['notification.' || g.status] OR w.events @> ARRAY['*'])
    )
)"""  # noqa: S608 - constants only
"""The CTE ``outbox``: one ``notification.<status>`` row per ``logged`` event whose application has an enabled
endpoint subscribed to that type (or to ``*``); nothing otherwise. The first ``EXISTS`` is uncorrelated, so
PostgreSQL evaluates it once per statement (a probe of ``ix_webhook_endpoints_enabled`` per application in the
statement) and, when no application there has an enabled endpoint, skips the rest: the hot paths then pay that
probe and the ``RETURNING`` of the columns, nothing per row."""
