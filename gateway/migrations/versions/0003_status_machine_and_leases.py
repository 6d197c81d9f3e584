"""statuses scheduled, cancelled and bounced; claim leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

The status check widens to the release-2 statuses (docs/design.md §3 PostgreSQL). It is added NOT VALID and
validated apart, so the table stays writable while the existing rows are checked. ``lease_until`` is when a
worker's claim of a ``sending`` row lapses; a partial index on it serves the reconciler, which looks for
claims that lapsed long ago.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELEASE_1 = ("queued", "sending", "retrying", "delivered", "failed", "skipped")
RELEASE_2 = (*RELEASE_1, "scheduled", "cancelled", "bounced")
TABLES = ("notification_statuses", "notification_events")


def _check_statuses(statuses: Sequence[str]) -> None:
    allowed = ", ".join(f"'{status}'" for status in statuses)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_status_known")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_status_known CHECK (status IN ({allowed})) NOT VALID")
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT ck_status_known")


def upgrade() -> None:
    _check_statuses(RELEASE_2)
    op.add_column(
        "notification_statuses",
        sa.Column("lease_until", sa.DateTime(timezone=True), comment="while sending: when the worker's claim lapses"),
    )
    op.create_index(
        "ix_notification_statuses_lease_until",
        "notification_statuses",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_statuses_lease_until", "notification_statuses")
    op.drop_column("notification_statuses", "lease_until")
    _check_statuses(RELEASE_1)
