"""``broadcasts``: topic sends and their fan-out job; ``broadcast_id`` on notification rows

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

docs/design.md §7 "Later and many": a topic send writes one ``broadcasts`` row, the fan-out's claimable job
(the row is the lock: a lease owner and ``lease_until``, a checkpoint = the last subscriber written). Every
notification it writes carries the broadcast's id; the partial index ``(broadcast_id, id)`` serves the
broadcast's counters, its cancel and ``GET /v1/notifications?broadcast_id=`` without an entry per single send.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "'scheduled', 'fanning_out', 'done', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, comment="UUIDv7"),
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False, comment="the topic's key"),
        sa.Column("content", postgresql.JSONB(), nullable=False, comment="the send's content fields"),
        sa.Column("test_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("checkpoint", postgresql.UUID(as_uuid=True), comment="the last subscriber's user id written"),
        sa.Column("lease_owner", sa.Text(), comment="the fan-out instance holding the job"),
        sa.Column("lease_until", sa.DateTime(timezone=True), comment="when its hold lapses"),
        sa.Column("recipients", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("request_id", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"state IN ({STATES})", name="ck_broadcast_state_known"),
    )
    op.create_index("ix_broadcasts_application_id_id", "broadcasts", ["application_id", "id"])
    op.create_index(
        "ix_broadcasts_claimable", "broadcasts", ["lease_until"], postgresql_where=sa.text("state = 'fanning_out'")
    )
    op.add_column(
        "notification_statuses",
        sa.Column("broadcast_id", postgresql.UUID(as_uuid=True), comment="the topic send that wrote it, if one did"),
    )
    op.create_index(
        "ix_notification_statuses_broadcast_id_id",
        "notification_statuses",
        ["broadcast_id", "id"],
        postgresql_where=sa.text("broadcast_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_broadcast_id_id", table_name="notification_statuses")
    op.drop_column("notification_statuses", "broadcast_id")
    op.drop_index("ix_broadcasts_claimable", table_name="broadcasts")
    op.drop_index("ix_broadcasts_application_id_id", table_name="broadcasts")
    op.drop_table("broadcasts")
