"""``send_at`` and ``render_input`` on notification rows, and the index the scheduler claims due rows by

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

docs/design.md §7 "Later and many": a ``scheduled`` row waits with the time it is due (``send_at``) and what
the scheduler needs to render it then (``render_input``: the request's variables and locale). The index is
partial: only rows still ``scheduled`` are in it, so the scheduler's "due now" probe stays small however many
notifications were ever scheduled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notification_statuses",
        sa.Column("send_at", sa.DateTime(timezone=True), comment="when a scheduled notification is due"),
    )
    op.add_column(
        "notification_statuses",
        sa.Column("render_input", postgresql.JSONB(), comment="while scheduled: what rendering it takes"),
    )
    op.create_index(
        "ix_notification_statuses_send_at",
        "notification_statuses",
        ["send_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_send_at", table_name="notification_statuses")
    op.drop_column("notification_statuses", "render_input")
    op.drop_column("notification_statuses", "send_at")
