"""every user belongs to an application; an email is unique within its application

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Every existing user is given to the ``default`` application (docs/design.md §7 Applications).
``application_id`` is added with that id as its default, which PostgreSQL keeps in the catalogue (no table
rewrite), and the default is dropped again so that no new user can land in ``default`` by omission.
Preferences and devices hang off their user (primary key and cascade through ``user_id``), so every query
reaches them through a user of the application and they need no column of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from common.applications import DEFAULT_APPLICATION_ID

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = sa.text(f"'{DEFAULT_APPLICATION_ID}'::uuid")


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False, server_default=DEFAULT)
    )
    op.alter_column("users", "application_id", server_default=None)
    op.create_index(
        "uq_users_application_id_email_lower", "users", ["application_id", sa.text("lower(email)")], unique=True
    )
    op.drop_index("uq_users_email_lower", table_name="users")
    op.create_index("ix_users_application_id_id", "users", ["application_id", "id"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM users WHERE application_id <> :id").bindparams(id=DEFAULT_APPLICATION_ID))
    op.drop_index("ix_users_application_id_id", table_name="users")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.drop_index("uq_users_application_id_email_lower", table_name="users")
    op.drop_column("users", "application_id")
