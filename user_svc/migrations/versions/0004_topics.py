"""topics and their subscriptions

Revision ID: 0004_topics
Revises: 0003
Create Date: 2026-12-07

A topic is a named audience of an application (docs/design.md §7 Later and many). A subscription names the
application of its topic again, so its foreign key reaches only a topic of that application; its primary key
(topic, user) makes subscribing twice harmless and is the index the fan-out's pages read (a topic's users
after a given id). Deleting a user or a topic removes its subscriptions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_topics"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column(
            "id", sa.BigInteger(), primary_key=True, autoincrement=True, comment="internal: subscriptions refer to it"
        ),
        sa.Column(
            "application_id",
            postgresql.UUID(as_uuid=True),
            nullable=False,
            comment="the application the topic belongs to",
        ),
        sa.Column("key", sa.Text(), nullable=False, comment="unique within the application; what the API names it by"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("application_id", "key", name="uq_topics_application_id_key"),
        sa.UniqueConstraint("application_id", "id", name="uq_topics_application_id_id"),
    )
    op.create_table(
        "topic_subscriptions",
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("topic_id", sa.BigInteger(), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), primary_key=True, comment="the listing and fan-out order"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(
            ["application_id", "topic_id"],
            ["topics.application_id", "topics.id"],
            ondelete="CASCADE",
            name="fk_topic_subscriptions_topic",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_topic_subscriptions_user"),
    )
    op.create_index("ix_topic_subscriptions_user_id", "topic_subscriptions", ["user_id"])


def downgrade() -> None:
    op.drop_table("topic_subscriptions")
    op.drop_table("topics")
