"""Idempotency claims record whether their request's work committed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Set in the same transaction as the request's own writes (see app.web.idempotency): a claim
    # that wrote is never released or taken over, so its request never runs twice.
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(
            sa.Column("wrote", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("wrote")
