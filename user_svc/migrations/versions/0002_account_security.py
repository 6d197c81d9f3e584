"""token versions, pending emails, and devices cut to 20 short tokens per user

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

A user keeps at most 20 devices with tokens of at most 512 characters (FCM's are about 160): the rows past
that limit are abuse that would make the user's notification profile too large to send, so they go now.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "token_version",
            sa.BigInteger(),
            nullable=False,
            server_default="0",
            comment="a user token is valid only with this ver claim; moved on by a password change",
        ),
    )
    op.add_column(
        "users",
        sa.Column("pending_email", sa.Text(), nullable=True, comment="asked for by the user, not yet set"),
    )
    op.execute("DELETE FROM devices WHERE length(token) > 512")
    op.execute(
        """
        DELETE FROM devices
        USING (
            SELECT user_id, token,
                   row_number() OVER (PARTITION BY user_id ORDER BY updated_at DESC, created_at DESC, token DESC) AS n
            FROM devices
        ) AS ranked
        WHERE devices.user_id = ranked.user_id AND devices.token = ranked.token AND ranked.n > 20
        """
    )


def downgrade() -> None:
    op.drop_column("users", "pending_email")
    op.drop_column("users", "token_version")
