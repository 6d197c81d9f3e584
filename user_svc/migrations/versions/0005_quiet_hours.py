"""a user's timezone and quiet hours, with the channel preferences

Revision ID: 0005_quiet_hours
Revises: 0004_topics
Create Date: 2026-12-07

Three nullable columns, so adding them rewrites no row: ``timezone`` (an IANA name; NULL is UTC) and the quiet
hours' ``quiet_start`` and ``quiet_end`` (local times; both or neither, and never equal: an empty or a whole-day
span is no quiet hours). user_svc checks the timezone name against the zone database; the database cannot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_quiet_hours"
down_revision: str | None = "0004_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUIET_HOURS_WHOLE = (
    "(quiet_start IS NULL AND quiet_end IS NULL)"
    " OR (quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)"
)


def upgrade() -> None:
    op.add_column("preferences", sa.Column("timezone", sa.Text(), nullable=True, comment="IANA name; NULL is UTC"))
    op.add_column("preferences", sa.Column("quiet_start", sa.Time(), nullable=True, comment="local time"))
    op.add_column("preferences", sa.Column("quiet_end", sa.Time(), nullable=True, comment="local time"))
    op.create_check_constraint("ck_preferences_quiet_hours_whole", "preferences", QUIET_HOURS_WHOLE)


def downgrade() -> None:
    op.drop_constraint("ck_preferences_quiet_hours_whole", "preferences", type_="check")
    op.drop_column("preferences", "quiet_end")
    op.drop_column("preferences", "quiet_start")
    op.drop_column("preferences", "timezone")
