"""the index behind ``GET /v1/notifications?request_id=``

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

docs/design.md §7 "Listing filters": of the listing's new filters only ``request_id`` earns an
index. It picks a handful of rows out of an application's whole history, which without one is a scan of every
row; the other filters either ride the ``(application_id, id)`` index or find their rows early in the
newest-first scan, and every status change writes each index of ``notification_statuses`` again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notification_statuses_request_id", "notification_statuses", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_request_id", table_name="notification_statuses")
