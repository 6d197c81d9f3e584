"""notification_statuses, notification_events and email_suppressions

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'queued', 'sending', 'retrying', 'delivered', 'failed', 'skipped'"


def upgrade() -> None:
    op.create_table(
        "notification_statuses",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, comment="UUIDv7: time-ordered"),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("template_slug", sa.Text(), nullable=False),
        sa.Column("template_version", sa.Integer()),
        sa.Column("template_locale", sa.Text()),
        sa.Column("priority", sa.Text(), nullable=False, server_default="normal"),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), comment="why skipped or failed, machine-readable"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("provider_message_id", sa.Text()),
        sa.Column("request_id", sa.Text()),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("envelope", sa.LargeBinary(), comment="the published MessageEnvelope, for the reconciler"),
        sa.Column("published_at", sa.DateTime(timezone=True), comment="set once the broker confirmed"),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("channel IN ('email', 'push')", name="ck_channel_known"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_status_known"),
    )
    op.create_index("ix_notification_statuses_user_id_id", "notification_statuses", ["user_id", "id"])
    op.create_index("ix_notification_statuses_status_id", "notification_statuses", ["status", "id"])
    op.create_index(
        "ix_notification_statuses_unpublished",
        "notification_statuses",
        ["created_at"],
        postgresql_where=sa.text("status = 'queued' AND published_at IS NULL"),
    )
    op.create_table(
        "notification_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "notification_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("notification_statuses.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_status_known"),
    )
    op.create_index("ix_notification_events_notification_id_id", "notification_events", ["notification_id", "id"])
    op.create_table(
        "email_suppressions",
        sa.Column("address", sa.Text(), primary_key=True, comment="lower-cased address that hard-bounced"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notification_id", postgresql.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("email_suppressions")
    op.drop_table("notification_events")
    op.drop_table("notification_statuses")
