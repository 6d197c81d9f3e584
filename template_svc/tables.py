"""The tables of the ``templates`` database (SQLAlchemy Core); the Alembic history creates the same.

A template (application + slug + channel + locale) points at its active version; versions are immutable rows. The
``(id, active_version)`` foreign key is deferred, so a template and its first version go in together. Each version
names its category; ``categories`` holds an application's own ones (``transactional`` is built in, never a row).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from common.channels import Channel
from common.db import one_of

TRANSACTIONAL = "transactional"
"""The category every application has: it cannot be opted out of and carries no unsubscribe link."""

metadata = MetaData()

templates = Table(
    "templates",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False, comment="the application the template belongs to"),
    Column("slug", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("locale", Text, nullable=False, comment="canonical tag, e.g. pt-BR"),
    Column("active_version", Integer, nullable=False),
    Column("latest_version", Integer, nullable=False, comment="the highest version number handed out"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint(
        "application_id", "slug", "channel", "locale", name="uq_templates_application_id_slug_channel_locale"
    ),
    one_of("channel", Channel, name="ck_templates_channel_known"),
    CheckConstraint("active_version BETWEEN 1 AND latest_version", name="ck_templates_active_version_handed_out"),
    ForeignKeyConstraint(
        ["id", "active_version"],
        ["template_versions.template_id", "template_versions.version"],
        name="fk_templates_active_version",
        deferrable=True,
        initially="DEFERRED",
        use_alter=True,
    ),
)

template_versions = Table(
    "template_versions",
    metadata,
    Column("template_id", BigInteger, ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("subject", Text, nullable=False, server_default=""),
    Column("body", Text, nullable=False),
    Column("html_body", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False, server_default=""),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("from_name", Text, nullable=False, server_default="", comment="email: the sender's name"),
    Column("from_email", Text, nullable=False, server_default="", comment="email: on a sending domain"),
    Column("reply_to", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("category", Text, nullable=False, server_default=TRANSACTIONAL, comment="a category key"),
)

categories = Table(
    "categories",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("transactional", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"key <> '{TRANSACTIONAL}'", name="ck_categories_not_builtin"),
)
"""An application's categories other than the built-in ``transactional``."""
