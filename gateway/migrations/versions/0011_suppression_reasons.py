"""suppression reasons: only hard_bounce, complaint and manual

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Release 1's email worker stored a synchronous refusal's suppression with the notification's failure reason
(``smtp_550`` and the like); the suppression API knows three reasons (docs/api.md "Suppressions"), and such a
refusal is a hard bounce. Existing rows are renamed, then a CHECK keeps every writer to the three.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = "'hard_bounce', 'complaint', 'manual'"


def upgrade() -> None:
    op.execute(f"UPDATE email_suppressions SET reason = 'hard_bounce' WHERE reason NOT IN ({REASONS})")  # noqa: S608
    op.create_check_constraint("ck_email_suppression_reason_known", "email_suppressions", f"reason IN ({REASONS})")


def downgrade() -> None:
    op.drop_constraint("ck_email_suppression_reason_known", "email_suppressions", type_="check")
