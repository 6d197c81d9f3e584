"""applications and api_keys; every notification and suppression belongs to an application

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

The ``default`` application (docs/design.md §7 Applications) gets its fixed id, and every existing row is
given to it. ``application_id`` is added with that id as its default, which PostgreSQL keeps in the catalogue
(no table rewrite), and the default is dropped again so that no new row can land in ``default`` by omission.
A suppression is an application's own: its primary key becomes (application, address).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from common.applications import DEFAULT_APPLICATION_ID

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = sa.text(f"'{DEFAULT_APPLICATION_ID}'::uuid")


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), comment="sends per minute; NULL = the deployment's"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("disabled_at", sa.DateTime(timezone=True), comment="set by DELETE: its keys and ids are gone"),
        sa.Column("purged_at", sa.DateTime(timezone=True), comment="when its data was purged after disabling"),
        sa.CheckConstraint("rate_limit_per_minute IS NULL OR rate_limit_per_minute >= 0", name="ck_rate_limit"),
    )
    op.execute(
        sa.text("INSERT INTO applications (id, name) VALUES (:id, 'default')").bindparams(id=DEFAULT_APPLICATION_ID)
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), primary_key=True, comment="the <key id> of nk_<key id>_<secret>"),
        sa.Column(
            "application_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False, comment="shown in listings; not enough to use the key"),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False, comment="SHA-256 of the secret"),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False, server_default="live"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("mode IN ('live', 'test')", name="ck_mode_known"),
    )
    op.create_index("ix_api_keys_application_id_created_at", "api_keys", ["application_id", "created_at"])

    for table in ("notification_statuses", "email_suppressions"):
        op.add_column(
            table, sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False, server_default=DEFAULT)
        )
        op.alter_column(table, "application_id", server_default=None)
    op.create_index("ix_notification_statuses_application_id_id", "notification_statuses", ["application_id", "id"])
    op.drop_constraint("email_suppressions_pkey", "email_suppressions", type_="primary")
    op.create_primary_key("email_suppressions_pkey", "email_suppressions", ["application_id", "address"])


def downgrade() -> None:
    op.drop_constraint("email_suppressions_pkey", "email_suppressions", type_="primary")
    op.execute(
        sa.text("DELETE FROM email_suppressions WHERE application_id <> :id").bindparams(id=DEFAULT_APPLICATION_ID)
    )
    op.create_primary_key("email_suppressions_pkey", "email_suppressions", ["address"])
    op.drop_index("ix_notification_statuses_application_id_id", "notification_statuses")
    for table in ("notification_statuses", "email_suppressions"):
        op.drop_column(table, "application_id")
    op.drop_table("api_keys")
    op.drop_table("applications")
