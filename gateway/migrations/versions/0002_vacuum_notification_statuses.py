"""vacuum notification_statuses often: every row is updated three times within seconds of its insert

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Each notification's row is written once and then updated three times (published_at stamped, claimed, its
outcome), all within seconds, and never again. With PostgreSQL's default thresholds (a vacuum once 20 % of the
table is dead) a large table carries millions of dead versions in its recent pages, and every lookup by id
walks them: in the bench, without vacuum, the workers' Postgres cost per delivery grew several-fold over a
run. A 1 % threshold (and statistics refreshed as often) keeps the recent pages clean.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_cost_limit": "1000",
}


def upgrade() -> None:
    options = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    op.execute(f"ALTER TABLE notification_statuses SET ({options})")


def downgrade() -> None:
    op.execute(f"ALTER TABLE notification_statuses RESET ({', '.join(SETTINGS)})")
