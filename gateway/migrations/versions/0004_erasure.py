"""erasure: a deleted user's rows are marked, and rows holding content are indexed for the content eraser

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

``erased_at`` marks rows whose user was deleted (docs/design.md §3 PostgreSQL): an outcome written after the
erasure keeps no provider reply. The partial index lists rows still holding their envelope, oldest first, for
the eraser of content past ``NOTIFICATIONS_CONTENT_DAYS``; it covers no column the hot updates change, so
those stay as cheap as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notification_statuses",
        sa.Column(
            "erased_at", sa.DateTime(timezone=True), comment="when its user was deleted and its personal data erased"
        ),
    )
    op.create_index(
        "ix_notification_statuses_with_content",
        "notification_statuses",
        ["id"],
        postgresql_where=sa.text("envelope IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_with_content", "notification_statuses")
    op.drop_column("notification_statuses", "erased_at")
