"""The tables of the ``users`` database (SQLAlchemy Core); the Alembic history creates the same.

A user belongs to one application; preferences and devices are reached only through their user, so they
are isolated by it (docs/design.md §3). A topic belongs to one application too; its subscriptions name the
application again so that a subscription can only join a topic and a user of the same one."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

PLATFORMS = ("android", "ios", "web")
"""The platforms a device may run on, as stored."""

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, comment="UUIDv7: time-ordered, the listing order"),
    Column("application_id", UUID(as_uuid=True), nullable=False, comment="the application the user belongs to"),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False, comment="as given; unique case-insensitively within the application"),
    Column("locale", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column(
        "token_version",
        BigInteger,
        nullable=False,
        server_default="0",
        comment="a user token is valid only with this ver claim; moved on by a password change",
    ),
    Column("pending_email", Text, nullable=True, comment="asked for by the user, not yet set"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("uq_users_application_id_email_lower", users.c.application_id, func.lower(users.c.email), unique=True)
Index("ix_users_application_id_id", users.c.application_id, users.c.id)

preferences = Table(
    "preferences",
    metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email", Boolean, nullable=False, server_default=true()),
    Column("push", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("timezone", Text, nullable=True, comment="IANA name; NULL is UTC"),
    Column("quiet_start", Time, nullable=True, comment="local time"),
    Column("quiet_end", Time, nullable=True, comment="local time"),
    Column(
        "categories",
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment='{"<category key>": {"email": bool, "push": bool}}',
    ),
    CheckConstraint(
        "(quiet_start IS NULL AND quiet_end IS NULL)"
        " OR (quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)",
        name="ck_preferences_quiet_hours_whole",
    ),
)
"""A user's channels, timezone, quiet hours (both ends or neither, never equal) and choices per category."""

devices = Table(
    "devices",
    metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"platform IN ({', '.join(repr(p) for p in PLATFORMS)})", name="ck_devices_platform_known"),
)

topics = Table(
    "topics",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True, comment="internal: subscriptions refer to it"),
    Column("application_id", UUID(as_uuid=True), nullable=False, comment="the application the topic belongs to"),
    Column("key", Text, nullable=False, comment="unique within the application; what the API names it by"),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("application_id", "key", name="uq_topics_application_id_key"),
    UniqueConstraint("application_id", "id", name="uq_topics_application_id_id"),
)

topic_subscriptions = Table(
    "topic_subscriptions",
    metadata,
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("topic_id", BigInteger, primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True, comment="the listing and fan-out order"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(
        ["application_id", "topic_id"],
        ["topics.application_id", "topics.id"],
        ondelete="CASCADE",
        name="fk_topic_subscriptions_topic",
    ),
    ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_topic_subscriptions_user"),
)
"""The primary key (topic, user) is the index the subscriber pages read: a topic's users after a given id."""
Index("ix_topic_subscriptions_user_id", topic_subscriptions.c.user_id)
