"""a user's choices per category: which channels each category may use

Revision ID: 0006_category_preferences
Revises: 0005_quiet_hours
Create Date: 2026-12-07

One JSONB column, ``{"<category key>": {"email": bool, "push": bool}}``, a channel left out being accepted. Its
default is a constant, which PostgreSQL keeps in the catalogue: adding it rewrites no row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_category_preferences"
down_revision: str | None = "0005_quiet_hours"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "preferences",
        sa.Column(
            "categories",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
            comment='{"<category key>": {"email": bool, "push": bool}}',
        ),
    )


def downgrade() -> None:
    op.drop_column("preferences", "categories")
