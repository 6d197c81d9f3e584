"""every template belongs to an application; (slug, channel, locale) is unique within its application

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Every existing template is given to the ``default`` application (docs/design.md §7 Applications).
``application_id`` is added with that id as its default, which PostgreSQL keeps in the catalogue (no table
rewrite), and the default is dropped again so that no new template can land in ``default`` by omission.
Versions hang off their template (primary key and cascade through ``template_id``), so every query reaches
them through a template of the application and they need no column of their own. The new unique constraint
leads with the application: the listing's keyset reads one application's part of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from common.applications import DEFAULT_APPLICATION_ID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = sa.text(f"'{DEFAULT_APPLICATION_ID}'::uuid")


def upgrade() -> None:
    op.add_column(
        "templates",
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False, server_default=DEFAULT),
    )
    op.alter_column("templates", "application_id", server_default=None)
    op.create_unique_constraint(
        "uq_templates_application_id_slug_channel_locale",
        "templates",
        ["application_id", "slug", "channel", "locale"],
    )
    op.drop_constraint("uq_templates_slug_channel_locale", "templates", type_="unique")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM templates WHERE application_id <> :id").bindparams(id=DEFAULT_APPLICATION_ID))
    op.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the deferred foreign key now: later DDL needs none pending
    op.create_unique_constraint("uq_templates_slug_channel_locale", "templates", ["slug", "channel", "locale"])
    op.drop_constraint("uq_templates_application_id_slug_channel_locale", "templates", type_="unique")
    op.drop_column("templates", "application_id")
