"""categories: an application's kinds of notification, and the category of each template version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

``template_versions.category`` is added with the constant default ``transactional``, which PostgreSQL keeps in the
catalogue (no table rewrite): every existing version is transactional, as all email was before categories.
``transactional`` itself is built in and never a row of ``categories`` (docs/api.md "Categories").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "template_versions",
        sa.Column("category", sa.Text(), nullable=False, server_default="transactional", comment="a category key"),
    )
    op.create_table(
        "categories",
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("key <> 'transactional'", name="ck_categories_not_builtin"),
        sa.PrimaryKeyConstraint("application_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("categories")
    op.drop_column("template_versions", "category")
