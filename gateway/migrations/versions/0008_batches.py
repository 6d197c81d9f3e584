"""``batch_id`` on notification rows, and the index behind ``GET /v1/notifications?batch_id=``

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

docs/design.md §7 "Later and many": every row a ``POST /v1/notifications/batch`` writes carries the batch's id,
so the batch can be listed. The index is partial: rows of single sends (the hot path) hold no batch and add
no entry to it; ``(batch_id, id)`` serves the listing's newest-first order within a batch.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notification_statuses",
        sa.Column("batch_id", postgresql.UUID(as_uuid=True), comment="the batch send that wrote it, if one did"),
    )
    op.create_index(
        "ix_notification_statuses_batch_id_id",
        "notification_statuses",
        ["batch_id", "id"],
        postgresql_where=sa.text("batch_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_batch_id_id", table_name="notification_statuses")
    op.drop_column("notification_statuses", "batch_id")
