"""``sending_domains``: the domains an application sends from, each with its DKIM key

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07

docs/design.md §7 "Mail that comes back": a template's ``from_email`` must be on one of its application's
sending domains, and the email worker signs mail from such a domain with the domain's key. The private key is
stored sealed (AES-256-GCM under ``DKIM_KEY_SECRET``, see ``common.dkim_keys``); the public half is kept in
the clear, as the DNS TXT record publishes it anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sending_domains",
        sa.Column("application_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("domain", sa.Text(), primary_key=True, comment="lower-case, without a trailing dot"),
        sa.Column("selector", sa.Text(), nullable=False, comment="the DKIM selector: <selector>._domainkey"),
        sa.Column("private_key", sa.LargeBinary(), nullable=False, comment="PEM sealed with DKIM_KEY_SECRET"),
        sa.Column("dns_record", sa.Text(), nullable=False, comment="the TXT record value: v=DKIM1; k=rsa; p=…"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("sending_domains")
