"""webhook endpoints, the outbox written with each status change, and deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

docs/design.md §7 "Events out": a status change inserts its event into ``webhook_outbox`` in the same statement,
and only when an enabled endpoint of its application subscribes to the event's type (the partial index on
enabled endpoints makes that check one index probe). ``webhook_worker`` expands outbox rows into
``webhook_deliveries``, one per endpoint, and works the retry ladder on ``next_attempt_at``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_STATUSES = "'pending', 'retrying', 'succeeded', 'failed'"


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, comment="UUIDv7"),
        sa.Column(
            "application_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False, comment="event types, or {'*'} for all"),
        sa.Column("description", sa.Text()),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("secret", sa.Text(), nullable=False, comment="whsec_…: signs every delivery"),
        sa.Column("previous_secret", sa.Text(), comment="the secret before a rotation, also signing until…"),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), comment="…the end of its 24 h overlap"),
        sa.Column("failing_since", sa.DateTime(timezone=True), comment="first failure since the last success"),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_webhook_endpoints_application_id_id", "webhook_endpoints", ["application_id", "id"])
    op.create_index(
        "ix_webhook_endpoints_enabled",
        "webhook_endpoints",
        ["application_id"],
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("notification_id", postgresql.UUID(as_uuid=True), comment="for notification.* events"),
        sa.Column("data", postgresql.JSONB(), nullable=False, comment="the delivery body's data: a snapshot"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, comment="the webhook-id header"),
        sa.Column(
            "endpoint_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False, comment="the bytes posted, the same on every attempt"),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), comment="due (or leased) until; NULL when final"),
        sa.Column("response_status", sa.Integer()),
        sa.Column("response_ms", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False, comment="when the event was written"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN ({DELIVERY_STATUSES})", name="ck_delivery_status_known"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'retrying')"),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id_id", "webhook_deliveries", ["endpoint_id", "id"])
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_endpoints")
