"""``dead_letters``: the messages of ``failed.queue``, kept where they can be listed, replayed and discarded

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

docs/design.md §7 "The console": the gateway moves each message of ``failed.queue`` into a row (acking only
after the insert; ``message_key`` makes a redelivered copy a no-op), and ``/v1/dead-letters`` and
``python -m delivery.replay`` work on the rows. ``(application_id, id)`` serves an application's newest-first
listing and its count; ``notification_id`` the command's ``--id``. ``notification_events.at`` gets an index
for ``GET /v1/stats``'s outcomes per minute.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            primary_key=True,
            comment="UUIDv7: when it was moved out of failed.queue",
        ),
        sa.Column(
            "message_key",
            sa.Text(),
            nullable=False,
            unique=True,
            comment="x-dead-letter-id, or a digest: one row a copy",
        ),
        sa.Column(
            "application_id", postgresql.UUID(as_uuid=True), comment="NULL for poison: only the operator sees it"
        ),
        sa.Column(
            "notification_id", postgresql.UUID(as_uuid=True), comment="NULL for poison (a body that is not an envelope)"
        ),
        sa.Column("channel", sa.Text(), comment="the work queue it came from and goes back to"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False, comment="the message body as dead-lettered: the envelope"),
        sa.Column("headers", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("message_id", sa.Text(), comment="the AMQP message_id property"),
    )
    op.create_index("ix_dead_letters_application_id_id", "dead_letters", ["application_id", "id"])
    op.create_index("ix_dead_letters_notification_id", "dead_letters", ["notification_id"])
    op.create_index("ix_notification_events_at", "notification_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_notification_events_at", table_name="notification_events")
    op.drop_table("dead_letters")
