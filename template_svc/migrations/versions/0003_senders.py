"""a template version's sender: ``from_name``, ``from_email`` and ``reply_to``

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Email templates name who their mail is from (on one of the application's sending domains, which the gateway
checks) and where replies go. Empty means the deployment's default sender; a constant default adds the columns
without rewriting the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {"from_name": "email: the sender's name", "from_email": "email: on a sending domain", "reply_to": None}


def upgrade() -> None:
    for column, comment in COLUMNS.items():
        op.add_column(
            "template_versions", sa.Column(column, sa.Text(), nullable=False, server_default="", comment=comment)
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_column("template_versions", column)
