"""Sessions keep Stripe's `related_person`; reports their session's `verification_flow`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("verification_sessions") as batch:
        batch.add_column(sa.Column("related_person", JSON, nullable=True))
    with op.batch_alter_table("verification_reports") as batch:
        batch.add_column(sa.Column("verification_flow", sa.String(64), nullable=True))
    # A session's flow never changes, so the reports written before this revision take it too.
    op.execute(
        "UPDATE verification_reports SET verification_flow = ("
        "SELECT verification_flow FROM verification_sessions"
        " WHERE verification_sessions.id = verification_reports.session_id)"
    )


def downgrade() -> None:
    # In place, not as a batch: on SQLite a batch copies the table, which the foreign keys that
    # point at it refuse once it has rows (SQLite drops a column in place since 3.35).
    op.drop_column("verification_reports", "verification_flow")
    op.drop_column("verification_sessions", "related_person")
